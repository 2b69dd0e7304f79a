import type { Decider } from "../log/entry";
import type { ExemptionRef } from "../policy/decision";
import type { Proposal, ProposalStore } from "../proposals/proposal";
import { errorFields } from "../runner/log-fields";
import type { ExecutionOutcome } from "../runner/outcome";
import type { MessageRef } from "./action-value";
import {
  admitClick,
  bestEffort,
  ClickSession,
  currentDecision,
  expiredReply,
  proposalFields,
  type ActionResult,
  type ClickDeps,
} from "./click-session";
import { approvalExemptionKey, type ExemptionStore } from "./exemption-store";
import { proposalEntries } from "./proposal-entries";
import { openExemptionForm } from "./exemption-form";
import { EXEMPTION_DAYS, type ProposalOutcome } from "./message";
import { ProposalMessenger } from "./notifier";
import type { VerifiedAction } from "./verified-action";
import { newApplyLease, type ApplyLease } from "./apply-lease";
import { resolveStrandedApplies, type ResolvedApply } from "./stranded-applies";

/**
 * Carries out an approved plan: re-checks live state, applies, verifies and logs those stages. The engine's
 * executePlan, wired to the proposal's control, in production; never throws for an AWS failure, it reports it.
 */
export type ExecuteApprovedPlan = (proposal: Proposal, decidedBy: Decider) => Promise<ExecutionOutcome>;

/** What deciding needs on top of checking a click: the full proposal store, the executor and the exemptions. */
export interface ApprovalDeps extends ClickDeps {
  proposals: ProposalStore;
  execute: ExecuteApprovedPlan;
  exemptions: ExemptionStore;
  /** How long an approval may take to apply before housekeeping presumes its worker dead; APPLY_LEASE_MS by default. */
  applyLeaseMs?: number;
}

/**
 * The work behind one verified interaction: who is asking, is the proposal still open and unchanged, then exactly
 * one decision per proposal, enforced by the store's atomic `transition`.
 */
export async function processAction(action: VerifiedAction, deps: ApprovalDeps): Promise<ActionResult> {
  if (action.kind === "open-exemption") return openExemptionForm(action, deps);

  const session = new ActionSession(action, deps);
  const admission = await admitClick(
    session,
    async (proposal) => {
      const expired = await expireProposal(proposal, deps, session.messenger);
      await session.reply(expired ? expiredReply(proposal) : await currentDecision(proposal, deps));
      return expired ? "expired" : "already-decided";
    },
    (proposal) => isOwnExemption(proposal, action),
  );
  if (!admission.admitted) return admission.result;
  const { proposal } = admission;

  switch (action.kind) {
    case "approve":
      return approve(proposal, session);
    case "reject":
      return rejectProposal(proposal, session, action.reason);
    case "exempt":
      return exempt(proposal, action.reason, session, action.days);
  }
}

/**
 * pending -> applying under a lease, then the final status, moved only while the lease is still this worker's. A
 * worker that dies in between leaves the proposal applying with a lease that runs out; housekeeping then closes it
 * (resolveStrandedApplies), and while it is applying no second proposal is made for the same control and resource.
 */
async function approve(proposal: Proposal, session: ActionSession): Promise<ActionResult> {
  const { deps, decider } = session;
  const lease = newApplyLease("approval", deps.now(), deps.applyLeaseMs);
  const applying = await session.decide(proposal, "applying", lease);
  if (!applying) return "already-decided";
  await deps.log.append({
    ...proposalFields(applying, deps),
    stage: "approved",
    at: session.at(),
    decidedBy: decider,
    details: { lease: { holder: lease.leaseHolder, expiresAt: lease.leaseExpiresAt } },
  });
  await session.updateMessage(applying, { kind: "approved", by: decider });

  const execution = await executeReportingFailure(applying, session);
  const finalStatus = execution.status === "verified" ? "applied" : execution.status;
  if (!(await deps.proposals.transitionLeased(proposal.id, lease.leaseHolder, finalStatus))) {
    deps.logger.error(`proposal ${proposal.id}: the apply lease ran out while its plan was executing; housekeeping resolves it`);
  }
  await session.updateMessage({ ...applying, status: finalStatus }, { kind: "executed", by: decider, execution });
  return finalStatus;
}

/** The executor reports AWS failures itself; anything it throws is a failure it could not log, so log it here. */
async function executeReportingFailure(proposal: Proposal, session: ActionSession): Promise<ExecutionOutcome> {
  const { deps, decider } = session;
  try {
    return await deps.execute(proposal, decider);
  } catch (error) {
    const details = errorFields(error);
    deps.logger.error(`executing proposal ${proposal.id} threw`, { error: details });
    await deps.log.append({
      ...proposalFields(proposal, deps),
      stage: "failed",
      at: session.at(),
      decidedBy: decider,
      reason: "apply failed",
      error: details,
    });
    return { status: "failed", stage: "apply", error: details };
  }
}

async function rejectProposal(proposal: Proposal, session: ActionSession, reason?: string): Promise<ActionResult> {
  const { deps, decider } = session;
  const rejected = await session.decide(proposal, "rejected");
  if (!rejected) return "already-decided";
  await deps.log.append({
    ...proposalFields(rejected, deps),
    stage: "rejected-by-approver",
    at: session.at(),
    decidedBy: decider,
    ...(reason ? { reason } : {}),
  });
  await session.updateMessage(rejected, { kind: "rejected", by: decider });
  return "rejected";
}

/**
 * The exemption is stored before the status moves, so a crash between the two cannot lose it: the proposal stays
 * pending with the exemption already in force, and the redelivered action finds the exemption under the proposal's
 * key and only finishes the decision. A redelivery after the status moved (same approver) skips the transition and
 * logs only what is missing.
 */
async function exempt(proposal: Proposal, reason: string, session: ActionSession, days = EXEMPTION_DAYS): Promise<ActionResult> {
  const { deps, decider } = session;
  const exemption = await deps.exemptions.grantOnce(approvalExemptionKey(proposal.id), {
    source: "approval",
    resource: proposal.finding.resource.arn,
    controls: [proposal.control],
    reason,
    owner: decider.via === "slack" ? `${decider.name} (Slack ${decider.id})` : `${decider.name} (${decider.via} user ${decider.id})`,
    expires: new Date(deps.now().getTime() + days * 86_400_000).toISOString(),
  });
  const redelivered = proposal.status === "exempted";
  const exempted = redelivered ? proposal : await session.decide(proposal, "exempted");
  if (!exempted) return exemptionOutlivedItsDecision(proposal, exemption, session);

  const entries = redelivered ? await proposalEntries(deps.log, proposal) : [];
  if (!entries.some((entry) => entry.stage === "exempted")) {
    await deps.log.append({
      ...proposalFields(exempted, deps),
      stage: "exempted",
      at: session.at(),
      decidedBy: exempted.decidedBy ?? decider,
      reason: exemption.reason,
      details: { owner: exemption.owner, expires: exemption.expires, controls: exemption.controls },
    });
  }
  await session.updateMessage(exempted, {
    kind: "exempted",
    by: exempted.decidedBy ?? decider,
    reason: exemption.reason,
    expires: exemption.expires,
  });
  return "exempted";
}

/**
 * The exemption was stored but another decision moved the proposal first. A duplicate delivery of the same
 * approver's exemption is simply done; otherwise the stored exemption stands (an approver granted it) and is
 * logged, so nothing in force is missing from the log.
 */
async function exemptionOutlivedItsDecision(proposal: Proposal, exemption: ExemptionRef, session: ActionSession): Promise<ActionResult> {
  const { deps, decider } = session;
  const latest = await deps.proposals.get(proposal.id);
  if (latest && isOwnExemption(latest, session.action)) return "exempted";
  await deps.log.append({
    ...proposalFields(proposal, deps),
    stage: "exempted",
    at: session.at(),
    decidedBy: decider,
    reason: exemption.reason,
    details: {
      owner: exemption.owner,
      expires: exemption.expires,
      controls: exemption.controls,
      note: `the proposal was ${latest?.status ?? "removed"} before this exemption was recorded against it; the exemption stands`,
    },
  });
  return "already-decided";
}

/** A proposal this very approver already exempted: a redelivered or duplicate "exempt" action for it is a retry. */
function isOwnExemption(proposal: Proposal, action: VerifiedAction): boolean {
  return (
    action.kind === "exempt" &&
    proposal.status === "exempted" &&
    proposal.decidedBy?.id === action.user.id &&
    proposal.decidedBy.via === action.via
  );
}

export interface ExpireAndRemindOptions {
  /** A pending proposal this old without a reminder gets one, in its thread. */
  reminderAfterMs: number;
  /** The approval worker's apply lease (APPLY_LEASE_MS by default): an applying proposal past it is resolved. */
  applyLeaseMs?: number;
}

export interface ExpireAndRemindResult {
  expired: string[];
  reminded: string[];
  /** Approvals whose worker died mid-apply, closed with the status the log supports (see resolveStrandedApplies). */
  resolved: ResolvedApply[];
}

/**
 * The scheduled housekeeping for open proposals: resolve approvals whose worker died mid-apply, expire the pending
 * ones past their expiry (logged, message updated) and send each older one a single reminder.
 */
export async function expireAndRemind(
  deps: Pick<ApprovalDeps, "proposals" | "log" | "slack" | "now" | "logger" | "describeControl">,
  options: ExpireAndRemindOptions,
): Promise<ExpireAndRemindResult> {
  const messenger = deps.slack ? new ProposalMessenger(deps.slack, deps.describeControl) : undefined;
  const resolved = await resolveStrandedApplies(deps, messenger, options.applyLeaseMs);
  const result: ExpireAndRemindResult = { expired: [], reminded: [], resolved };
  const now = deps.now().getTime();
  for (const proposal of await deps.proposals.listByStatus("pending")) {
    if (now > Date.parse(proposal.expiresAt)) {
      if (await expireProposal(proposal, deps, messenger)) result.expired.push(proposal.id);
    } else if (messenger && !proposal.reminderSentAt && now - Date.parse(proposal.createdAt) >= options.reminderAfterMs) {
      await bestEffort(deps.logger, `reminder for proposal ${proposal.id}`, () => messenger.remind(proposal));
      // Recorded even when Slack failed: one reminder is attempted, never a stream of them.
      await deps.proposals.update(proposal.id, { reminderSentAt: deps.now().toISOString() });
      result.reminded.push(proposal.id);
    }
  }
  return result;
}

/** pending -> expired, logged and shown on the message. False when someone decided it first. */
async function expireProposal(
  proposal: Proposal,
  deps: Pick<ApprovalDeps, "proposals" | "log" | "now" | "logger" | "describeControl">,
  messenger: ProposalMessenger | undefined,
): Promise<boolean> {
  if (!(await deps.proposals.transition(proposal.id, "pending", "expired"))) return false;
  const expired: Proposal = { ...proposal, status: "expired" };
  await deps.log.append({
    ...proposalFields(expired, deps),
    stage: "expired",
    at: deps.now().toISOString(),
    reason: `no decision before ${proposal.expiresAt}`,
  });
  if (messenger) {
    await bestEffort(deps.logger, `message update for proposal ${proposal.id}`, () =>
      messenger.updateOutcome(expired, { kind: "expired" }),
    );
  }
  return true;
}

/** Per-action helpers on top of the click's: the decider, the exactly-once gate and message updates. */
class ActionSession extends ClickSession<ApprovalDeps> {
  readonly decider: Decider;

  constructor(action: VerifiedAction, deps: ApprovalDeps) {
    super(action, deps);
    this.decider = { id: action.user.id, name: action.user.name, via: action.via };
  }

  /**
   * The exactly-once gate: pending -> `to`, recording this user as the decider. Returns the decided proposal, or
   * undefined after telling the user who got there first.
   */
  async decide(proposal: Proposal, to: "applying" | "rejected" | "exempted", lease?: ApplyLease): Promise<Proposal | undefined> {
    const changes = { decidedBy: this.decider, decidedAt: this.at(), ...lease };
    if (await this.deps.proposals.transition(proposal.id, "pending", to, changes)) {
      return { ...proposal, status: to, ...changes };
    }
    await this.reply(await currentDecision(proposal, this.deps));
    return undefined;
  }

  async updateMessage(proposal: Proposal, outcome: ProposalOutcome): Promise<void> {
    const messenger = this.messenger;
    const message: MessageRef | undefined = proposal.slack ?? this.action.message;
    if (!messenger || !message) return;
    await bestEffort(this.deps.logger, `message update for proposal ${proposal.id}`, () =>
      messenger.updateOutcome(proposal, outcome, message),
    );
  }
}
