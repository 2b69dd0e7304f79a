import { ingestValue, jsonSyntaxProblem, logUnusableInput, processEvent, type EngineDeps, type EventReport } from "@hipaa-remediate/core";

/** The `source` of log entries for input posted to the local runner's `/events`. */
export const EVENTS_ENDPOINT_SOURCE = "local-runner:/events";

/** What became of one record in a posted body. */
export type IntakeItem =
  | ({ type: "event"; source: string } & EventReport)
  | { type: "ignored"; source: string; reason: string; eventId?: string }
  | { type: "rejected"; source: string; reason: string };

export interface IntakeSummary {
  records: number;
  events: number;
  ignored: number;
  rejected: number;
  findings: number;
  failures: number;
}

export type IntakeResult = { kind: "unreadable"; reason: string } | { kind: "processed"; items: IntakeItem[]; summary: IntakeSummary };

/**
 * Events posted to the local runner: an EventBridge envelope, a CloudTrail record or log file, or an array of
 * them, each through the same pipeline as a replay. A body that is not JSON at all is logged as rejected and
 * reported as unreadable; inside a readable body every record gets its own result and bad ones never stop the rest.
 */
export async function takeInEvents(rawBody: string, deps: EngineDeps): Promise<IntakeResult> {
  const parsed = parseBody(rawBody);
  if (parsed.kind === "unreadable") {
    await logUnusableInput({ kind: "rejected", source: EVENTS_ENDPOINT_SOURCE, reason: parsed.reason }, deps);
    return parsed;
  }

  const items: IntakeItem[] = [];
  const summary: IntakeSummary = { records: 0, events: 0, ignored: 0, rejected: 0, findings: 0, failures: 0 };
  for (const result of ingestValue(parsed.value, EVENTS_ENDPOINT_SOURCE)) {
    summary.records += 1;
    switch (result.kind) {
      case "rejected":
        summary.rejected += 1;
        await logUnusableInput(result, deps);
        items.push({ type: "rejected", source: result.source, reason: result.reason });
        break;
      case "ignored":
        summary.ignored += 1;
        await logUnusableInput(result, deps);
        items.push({
          type: "ignored",
          source: result.source,
          reason: result.reason,
          ...(result.eventId ? { eventId: result.eventId } : {}),
        });
        break;
      case "event": {
        const report = await processEvent(result.event, deps);
        summary.events += 1;
        summary.findings += report.findings.length;
        summary.failures += report.failures;
        items.push({ type: "event", source: result.event.origin, ...report });
        break;
      }
    }
  }
  return { kind: "processed", items, summary };
}

function parseBody(rawBody: string): { kind: "parsed"; value: unknown } | { kind: "unreadable"; reason: string } {
  if (rawBody.trim() === "") {
    return { kind: "unreadable", reason: "request body is empty: send an EventBridge envelope, a CloudTrail record, or an array of them" };
  }
  try {
    return { kind: "parsed", value: JSON.parse(rawBody) };
  } catch (error) {
    // The problem in words that never quote the body, which may hold PHI.
    const problem = jsonSyntaxProblem(error);
    const where = problem.position === undefined ? "" : ` at character ${problem.position}`;
    return { kind: "unreadable", reason: `request body is not JSON: ${problem.message}${where}` };
  }
}
