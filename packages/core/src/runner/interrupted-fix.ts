import type { AnyControl, LiveContext } from "../controls/contract";
import type { LogDraft, LogEntry } from "../log/entry";
import { ReadCache } from "../support/read-cache";
import { controlContext, type EngineDeps } from "./deps";
import { errorFields } from "./log-fields";

/**
 * A fix a previous attempt at the same unit of work started: its `applying` entry, and what it logged after it.
 * The engine can die anywhere between apply and the log (a Lambda timeout, an out-of-memory kill); SQS then
 * delivers the event again, and the redelivery must neither apply a second time nor leave the log half told.
 */
export interface StartedFix {
  applying: LogEntry & { plan: NonNullable<LogEntry["plan"]> };
  applied?: LogEntry;
  /** `verified` or `failed`: the attempt (or an earlier redelivery) finished the fix's story. */
  finished?: LogEntry;
}

/** The fixes started by earlier attempts at `unitOfWork`, found in the event's entries (chain order). */
export function startedFixes(eventEntries: readonly LogEntry[], unitOfWork: string): StartedFix[] {
  const started: StartedFix[] = [];
  for (const entry of eventEntries) {
    if (entry.stage !== "applying" || entry.details?.unitOfWork !== unitOfWork || !entry.plan) continue;
    const applying = { ...entry, plan: entry.plan };
    const later = eventEntries.filter(
      (other) => other.seq > entry.seq && other.control === entry.control && other.resource?.arn === entry.resource?.arn,
    );
    const applied = later.find((other) => other.stage === "applied");
    const finished = later.find((other) => other.stage === "verified" || other.stage === "failed");
    started.push({ applying, ...(applied ? { applied } : {}), ...(finished ? { finished } : {}) });
  }
  return started;
}

export type ResumedStatus = "verified" | "failed";

/**
 * Finishes the log of a fix an earlier attempt started, without applying again: it reads the resource back (as
 * verify does, afresh) and says what is now true. Only a fix whose `applied` entry was written can end
 * `verified`; without it, the state before the change was never captured, so the entry is `failed` even when the
 * resource complies, and says why, so that a person knows this fix cannot be rolled back from the log.
 */
export async function finishStartedFix(control: AnyControl, fix: StartedFix, deps: EngineDeps): Promise<ResumedStatus> {
  const { applying, applied, finished } = fix;
  const common = {
    ...(applying.eventId ? { eventId: applying.eventId } : {}),
    ...(applying.actor ? { actor: applying.actor } : {}),
    ...(applying.resource ? { resource: applying.resource } : {}),
    control: control.id,
    ...(applying.hipaa ? { hipaa: applying.hipaa } : {}),
    plan: applying.plan,
    ...(applying.planHash ? { planHash: applying.planHash } : {}),
  } satisfies Omit<LogDraft, "stage" | "at">;
  const at = () => deps.now().toISOString();

  if (finished) {
    await deps.log.append({
      ...common,
      stage: "ignored",
      at: at(),
      reason: `redelivery after an interruption: this fix already ended "${finished.stage}" in entry ${finished.seq}; not applied again`,
    });
    return finished.stage === "verified" ? "verified" : "failed";
  }

  const interrupted = applied
    ? `the previous attempt was interrupted after apply (entry ${applied.seq}) and before verifying`
    : `the previous attempt was interrupted after its intent to apply (entry ${applying.seq}) and before the result was logged`;
  const fail = async (reason: string, details: Pick<LogDraft, "after" | "error">): Promise<ResumedStatus> => {
    const message = `${interrupted}; ${reason}`;
    await deps.log.append({
      ...common,
      stage: "failed",
      at: at(),
      reason: message,
      error: { name: "InterruptedFix", message },
      ...details,
    });
    return "failed";
  };

  if (!deps.aws) return fail("no AWS access on redelivery to read the resource back; not applied again, needs a person", {});
  const ctx: LiveContext = { ...controlContext(control, deps, new ReadCache()), aws: deps.aws };
  let verified;
  try {
    verified = await control.verify(applying.plan, ctx);
  } catch (error) {
    return fail("reading the resource back on redelivery failed; not applied again, needs a person", { error: errorFields(error) });
  }
  if (!verified.ok) {
    const detail = verified.detail ?? "state read back does not match the plan";
    return fail(`the resource is still violating (${detail}); not applied again, needs a person`, { after: verified.state });
  }
  if (applied) {
    await deps.log.append({
      ...common,
      stage: "verified",
      at: at(),
      after: verified.state,
      reason: `${interrupted}; verified on redelivery, not applied again`,
    });
    return "verified";
  }
  return fail(
    "the resource is compliant now, verified on redelivery; not applied again. The state before the change was not captured, so it cannot be rolled back from the log",
    { after: verified.state },
  );
}
