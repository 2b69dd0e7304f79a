import type { IgnoredResult, RejectedResult } from "../events/ingest-result";
import type { JsonObject } from "../support/json";
import type { EngineDeps } from "./deps";

/**
 * Logs an input record the pipeline will not act on, as an `ignored` or `rejected` entry, so every record read
 * leaves a trace however it arrived (replay, the local runner, SQS). `details` carries what only the caller knows.
 */
export async function logUnusableInput(
  result: IgnoredResult | RejectedResult,
  deps: Pick<EngineDeps, "log" | "now">,
  details?: JsonObject,
): Promise<void> {
  await deps.log.append({
    stage: result.kind,
    at: deps.now().toISOString(),
    source: result.source,
    reason: result.reason,
    ...(result.kind === "ignored" && result.eventId ? { eventId: result.eventId } : {}),
    ...(details ? { details } : {}),
  });
}
