import type { LogEntry, LogStore } from "../log/port";
import type { Proposal, ProposalStore } from "../proposals/proposal";
import type { ExecutionOutcome } from "../runner/outcome";
import type { Logger } from "../support/logger";
import { isStranded, newApplyLease } from "./apply-lease";
import { bestEffort, proposalFields } from "./click-session";
import { proposalEntries } from "./proposal-entries";
import type { DescribeControl } from "./message";
import type { ProposalMessenger } from "./notifier";

export interface StrandedApplyDeps {
  proposals: ProposalStore;
  log: LogStore;
  now: () => Date;
  logger: Logger;
  describeControl: DescribeControl;
}

/** A proposal whose worker died mid-apply, and the status housekeeping gave it. */
export interface ResolvedApply {
  proposalId: string;
  status: "applied" | "failed" | "no-longer-applies";
}

/** The error name of the failed entry housekeeping writes for an apply nobody finished. */
export const APPLY_INTERRUPTED = "ApplyInterrupted";

/**
 * Resolves proposals whose approval worker died while applying (lease run out), so none stays open forever.
 *
 * Housekeeping never applies anything itself, it only closes the proposal with what the log knows:
 * - the log's own outcome for the proposal (verified, failed or no-longer-applies), when the worker wrote one and
 *   died before recording the status;
 * - otherwise `failed`, with a logged reason that says how far the worker got and that the outcome in AWS is not
 *   known.
 * Why not resume the apply: an approval is a person's decision about the state they saw, and finishing it later,
 * with nobody watching, stretches that decision past what they approved. Failing is safe because nothing is lost:
 * the violation, if it still holds, is found again by the next event or sweep and proposed afresh (a closed
 * proposal no longer blocks a new one), so a person decides on current state. It also never risks a second apply,
 * and the housekeeping function keeps no permission to change resources.
 */
export async function resolveStrandedApplies(
  deps: StrandedApplyDeps,
  messenger: ProposalMessenger | undefined,
  leaseMs?: number,
): Promise<ResolvedApply[]> {
  const now = deps.now();
  const candidates = [...(await deps.proposals.listByStatus("applying")), ...(await deps.proposals.listByStatus("approved"))];
  const resolved: ResolvedApply[] = [];
  for (const proposal of candidates) {
    if (!isStranded(proposal, now, leaseMs)) continue;
    const status = await resolveOne(proposal, deps, messenger, leaseMs);
    if (status) resolved.push({ proposalId: proposal.id, status });
  }
  return resolved;
}

async function resolveOne(
  proposal: Proposal,
  deps: StrandedApplyDeps,
  messenger: ProposalMessenger | undefined,
  leaseMs: number | undefined,
): Promise<ResolvedApply["status"] | undefined> {
  // Take the lease first: of two housekeeping runs only one resolves the proposal, so its failure is logged once.
  // If this run dies too, its own lease runs out and the next run starts over, finding any entry this one wrote.
  const lease = newApplyLease("housekeeping", deps.now(), leaseMs);
  const taken =
    proposal.status === "approved"
      ? await deps.proposals.transition(proposal.id, "approved", "applying", lease)
      : await deps.proposals.transitionLeased(proposal.id, proposal.leaseHolder ?? "", "applying", lease);
  if (!taken) {
    if (proposal.status === "applying" && !proposal.leaseHolder) {
      deps.logger.error(`proposal ${proposal.id} is applying without a lease holder; resolve it by hand`);
    }
    return undefined;
  }

  const outcome = outcomeFromLog(await proposalEntries(deps.log, proposal), proposal);
  if (!outcome.logged) {
    await deps.log.append({
      ...proposalFields(proposal, deps),
      stage: "failed",
      at: deps.now().toISOString(),
      ...(proposal.decidedBy ? { decidedBy: proposal.decidedBy } : {}),
      reason: outcome.reason,
      error: { name: APPLY_INTERRUPTED, message: outcome.reason },
      details: {
        interruptedLease: { holder: proposal.leaseHolder ?? "(none: approved before leases)", expiresAt: proposal.leaseExpiresAt ?? "" },
      },
    });
  }
  const status = outcome.execution.status === "verified" ? "applied" : outcome.execution.status;
  if (!(await deps.proposals.transitionLeased(proposal.id, lease.leaseHolder, status))) {
    deps.logger.error(`proposal ${proposal.id}: housekeeping lost its lease while resolving an interrupted apply`);
    return undefined;
  }
  deps.logger.warn("resolved an interrupted approval", { proposalId: proposal.id, status, loggedByWorker: outcome.logged });
  const by = proposal.decidedBy;
  if (messenger && by && proposal.slack) {
    await bestEffort(deps.logger, `message update for proposal ${proposal.id}`, () =>
      messenger.updateOutcome({ ...proposal, status }, { kind: "executed", by, execution: outcome.execution }),
    );
  }
  return status;
}

type LogVerdict = { logged: true; execution: ExecutionOutcome } | { logged: false; execution: ExecutionOutcome; reason: string };

/** What the proposal's own log entries say about the apply; the last terminal entry wins. */
function outcomeFromLog(entries: LogEntry[], proposal: Proposal): LogVerdict {
  const terminal = entries.filter((e) => e.stage === "verified" || e.stage === "failed" || e.stage === "no-longer-applies").at(-1);
  if (terminal?.stage === "verified") {
    const applied = entries.filter((e) => e.stage === "applied").at(-1);
    return { logged: true, execution: { status: "verified", before: applied?.before ?? {}, after: terminal.after ?? {} } };
  }
  if (terminal?.stage === "no-longer-applies") {
    return { logged: true, execution: { status: "no-longer-applies", reason: terminal.reason ?? "resource is compliant now" } };
  }
  if (terminal?.stage === "failed") {
    const error = terminal.error ?? { name: "Failed", message: terminal.reason ?? "failed" };
    const stage = /^(recheck|apply|verify)\b/.exec(terminal.reason ?? "")?.[1];
    const failedAt = stage === "recheck" || stage === "verify" ? stage : "apply";
    return { logged: true, execution: { status: "failed", stage: failedAt, error } };
  }
  const holder = proposal.leaseHolder ? `its worker (${proposal.leaseHolder})` : "its worker";
  const until = proposal.leaseExpiresAt ? `, lease expired ${proposal.leaseExpiresAt}` : "";
  const applied = entries.find((e) => e.stage === "applied");
  const reason = applied
    ? `apply interrupted: ${holder} stopped after applying the fix (logged at ${applied.at}) and before verifying it${until}; ` +
      "the next event or sweep re-checks the resource"
    : `apply interrupted: ${holder} stopped before recording an outcome${until}; the log holds no applied entry, so ` +
      "whether the change reached AWS is not known; the next event or sweep re-checks the resource and proposes again if it still violates";
  return {
    logged: false,
    reason,
    execution: { status: "failed", stage: applied ? "verify" : "apply", error: { name: APPLY_INTERRUPTED, message: reason } },
  };
}
