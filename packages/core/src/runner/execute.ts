import type { AnyControl, Finding, LiveContext, Plan, ResourceRef, Verdict } from "../controls/contract";
import type { Decider } from "../log/entry";
import { ReadCache } from "../support/read-cache";
import { controlContext, type EngineDeps } from "./deps";
import { errorFields, findingFields, planFields } from "./log-fields";
import { OrderedLogWriter } from "./ordered-log-writer";
import type { ExecutionOutcome } from "./outcome";

export interface ExecutionRequest {
  control: AnyControl;
  plan: Plan;
  finding: Finding;
  proposalId?: string;
  decidedBy?: Decider;
  /** The unit of work's reads (detection's): the re-check keeps what a fix does not change, such as tags. */
  reads?: ReadCache;
  /**
   * The idempotency key of the unit of work, recorded in the `applying` entry: a redelivery after the engine died
   * mid-fix finds the entry by it and finishes the log instead of applying again (interrupted-fix.ts).
   */
  unitOfWork?: string;
  /**
   * The unit of work's log writer, which the caller flushes when the unit ends. Without one, every entry is written
   * by the time executePlan returns.
   */
  log?: OrderedLogWriter;
  /** The re-check, begun while the decision was still being made (see startRecheck). */
  recheck?: EarlyRecheck;
}

/** A re-check of live state begun before the plan was made, with the read scope apply then reads through. */
export interface EarlyRecheck {
  resource: ResourceRef;
  reads: ReadCache;
  verdicts: Promise<Verdict[]>;
}

/**
 * Begins the re-check that executePlan makes before it applies, for a finding an automatic fix is likely to follow:
 * it reads what executePlan would read, in the same scope, moments earlier. Used only when the plan is for the same
 * resource; a failure is the re-check's, and is not left unhandled when unused.
 */
export function startRecheck(control: AnyControl, finding: Finding, deps: EngineDeps, reads?: ReadCache): EarlyRecheck {
  const recheckReads = reads?.forRecheck() ?? new ReadCache();
  const ctx = controlContext(control, deps, recheckReads);
  const verdicts = Promise.resolve().then(() => control.detect({ resource: finding.resource }, ctx));
  verdicts.catch(() => undefined);
  return { resource: finding.resource, reads: recheckReads, verdicts };
}

export class LiveStateUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LiveStateUnavailableError";
  }
}

/**
 * Carries out one plan: re-checks live state, applies, verifies, and logs each step (with `applying` before apply
 * for a unit of work that a redelivery may retry). Shared by auto mode and by approvals, so an approved fix takes
 * exactly the same path as an automatic one.
 */
export async function executePlan(request: ExecutionRequest, deps: EngineDeps): Promise<ExecutionOutcome> {
  const { aws } = deps;
  if (!aws) throw new LiveStateUnavailableError("cannot apply a plan without AWS clients (offline mode)");
  if (request.log) return carryOut(request, request.log, deps, aws);
  const log = new OrderedLogWriter(deps.log);
  return log.finish(() => carryOut(request, log, deps, aws));
}

/**
 * How long the `applied` entry may wait for verify's result, to be written with it in one write instead of two.
 * Until it is written, the state before the change is only in memory: an engine killed in that time leaves a log
 * that ends `failed` and says the state before the change was never captured (interrupted-fix.ts), though nothing
 * is applied twice. The deadline bounds that time when verify is slow (retries, throttling, an API that hangs until
 * the Lambda times out), while a verify that reads back in the usual tens of milliseconds shares the write.
 */
export const APPLIED_ENTRY_DEADLINE_MS = 250;

/**
 * Entries are issued as each step ends and written together when they must be durable: all of them are in the log
 * before the change is applied (`applying` included, in one write with those before it), and `applied` is written
 * with verify's result, or within APPLIED_ENTRY_DEADLINE_MS of the change when verify takes longer.
 */
async function carryOut(
  request: ExecutionRequest,
  log: OrderedLogWriter,
  deps: EngineDeps,
  aws: NonNullable<EngineDeps["aws"]>,
): Promise<ExecutionOutcome> {
  const { control, plan, finding } = request;
  // The re-check reads the state afresh, and apply captures the state before the change from that same read.
  const early = request.recheck?.resource.arn === plan.resource.arn ? request.recheck : undefined;
  const recheckReads = early?.reads ?? request.reads?.forRecheck() ?? new ReadCache();
  const ctx: LiveContext = { ...controlContext(control, deps, recheckReads), aws };
  const common = {
    ...findingFields(control, finding),
    ...planFields(plan),
    ...(request.proposalId ? { proposalId: request.proposalId } : {}),
    ...(request.decidedBy ? { decidedBy: request.decidedBy } : {}),
  };
  const at = () => deps.now().toISOString();

  // Events arrive late and out of order, and approvals can wait for hours: confirm the violation still holds.
  try {
    const verdicts = await (early?.verdicts ?? control.detect({ resource: plan.resource }, ctx));
    const stillViolating = verdicts.some((v) => v.kind === "violation" && v.finding.resource.arn === plan.resource.arn);
    if (!stillViolating) {
      const cleared = verdicts.find((v) => v.kind === "no-longer-applies");
      const reason = cleared?.kind === "no-longer-applies" ? cleared.reason : "resource is compliant now";
      log.append({ ...common, stage: "no-longer-applies", at: at(), reason });
      return { status: "no-longer-applies", reason };
    }
  } catch (error) {
    return fail("recheck", error);
  }

  if (request.unitOfWork) {
    // The durable intent: from here on, a redelivery must not apply again without knowing what this attempt did.
    // (An approved fix has its own: the proposal's `applying` status and lease.)
    log.append({ ...common, stage: "applying", at: at(), reason: plan.summary, details: { unitOfWork: request.unitOfWork } });
  }
  // Nothing is changed before every entry issued so far is durable.
  await log.flush();
  let applied;
  try {
    applied = await control.apply(plan, ctx);
  } catch (error) {
    return fail("apply", error);
  }
  log.append({
    ...common,
    stage: "applied",
    at: at(),
    before: applied.before,
    ...(applied.after ? { after: applied.after } : {}),
  });
  // What was changed, and the state before it (what rollback restores), is written with verify's result when verify
  // answers within the deadline, and on its own at the deadline when it does not.
  log.writePendingWithin(APPLIED_ENTRY_DEADLINE_MS);

  try {
    // Verify reads what the change left, never a value cached before it.
    const verified = await control.verify(plan, { ...ctx, reads: new ReadCache() });
    if (!verified.ok) {
      const message = verified.detail ?? "state read back does not match the plan";
      log.append({
        ...common,
        stage: "failed",
        at: at(),
        reason: `verify: ${message}`,
        after: verified.state,
        error: { name: "VerificationFailed", message },
      });
      return { status: "failed", stage: "verify", error: { name: "VerificationFailed", message } };
    }
    log.append({ ...common, stage: "verified", at: at(), after: verified.state });
    return { status: "verified", before: applied.before, after: verified.state };
  } catch (error) {
    return fail("verify", error);
  }

  function fail(stage: "recheck" | "apply" | "verify", error: unknown): ExecutionOutcome {
    const details = errorFields(error);
    deps.logger.error(`${control.id}: ${stage} failed for ${plan.resource.arn}`, { error: details });
    log.append({ ...common, stage: "failed", at: at(), reason: `${stage} failed`, error: details });
    return { status: "failed", stage, error: details };
  }
}
