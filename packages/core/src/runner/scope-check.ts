import type { ChangeEvent } from "../events/change-event";
import { eventRef } from "../events/change-event";
import { outOfScopeReason } from "../policy/scope";
import type { EngineDeps } from "./deps";

/**
 * Where events enter the engine: one from a region or an account outside the policy's scope is never acted on and
 * never dropped silently. It is logged `rejected` with the reason (and what to change to accept it), which is returned.
 */
export async function rejectOutOfScope(
  event: ChangeEvent,
  deps: Pick<EngineDeps, "policy" | "account" | "aws" | "log" | "now">,
): Promise<string | undefined> {
  const reason = outOfScopeReason(event, deps.policy.scope, deps.account ?? deps.aws?.account);
  if (reason === undefined) return undefined;
  await deps.log.append({
    stage: "rejected",
    at: deps.now().toISOString(),
    eventId: event.id,
    actor: eventRef(event).actor,
    source: event.origin,
    reason,
    details: { eventSource: event.source, eventName: event.name, region: event.region, account: event.account },
  });
  return reason;
}
