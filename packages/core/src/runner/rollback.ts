import type { LiveContext } from "../controls/contract";
import type { Decider, LogEntry } from "../log/entry";
import { controlContext, type EngineDeps } from "./deps";
import { LiveStateUnavailableError } from "./execute";
import { errorFields, planFields } from "./log-fields";

export class RollbackError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RollbackError";
  }
}

/**
 * Undoes one applied fix, from what the log captured when it was applied: the plan and the state before the
 * change. The log entry is the only input, so a rollback is possible as long as the log is.
 */
export async function rollbackApplied(applied: LogEntry, deps: EngineDeps, decidedBy?: Decider): Promise<void> {
  if (applied.stage !== "applied") throw new RollbackError(`log entry ${applied.seq} is a "${applied.stage}" entry, not "applied"`);
  const { plan, before } = applied;
  if (!plan || !before) throw new RollbackError(`log entry ${applied.seq} carries no plan or captured state to restore`);
  const control = deps.index.byId(plan.control);
  if (!control) throw new RollbackError(`control ${plan.control} (log entry ${applied.seq}) is not in the registry`);
  if (!plan.reversible) throw new RollbackError(`the fix in log entry ${applied.seq} is marked as not reversible`);
  if (!deps.aws) throw new LiveStateUnavailableError("a rollback changes live state and needs AWS clients");
  const ctx: LiveContext = { ...controlContext(control, deps), aws: deps.aws };
  const common = {
    ...(applied.eventId ? { eventId: applied.eventId } : {}),
    ...(applied.actor ? { actor: applied.actor } : {}),
    ...(applied.resource ? { resource: applied.resource } : {}),
    control: control.id,
    hipaa: control.hipaa.sections,
    ...planFields(plan),
    ...(decidedBy ? { decidedBy } : {}),
    details: { rollbackOf: applied.seq },
  };
  try {
    await control.rollback(plan, before, ctx);
  } catch (error) {
    await deps.log.append({
      ...common,
      stage: "failed",
      at: deps.now().toISOString(),
      reason: "rollback failed",
      error: errorFields(error),
    });
    throw new RollbackError(`rollback of log entry ${applied.seq} failed: ${errorFields(error).message}`, { cause: error });
  }
  await deps.log.append({
    ...common,
    stage: "rolled-back",
    at: deps.now().toISOString(),
    before,
    reason: `restored the state captured in entry ${applied.seq}`,
  });
}
