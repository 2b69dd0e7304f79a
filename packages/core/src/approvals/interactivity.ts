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
import type { ExemptionStore } from "./exemption-store";
import { openExemptionForm } from "./exemption-form";
import { EXEMPTION_DAYS, type ProposalOutcome } from "./message";
import { ProposalMessenger } from "./notifier";
import type { VerifiedAction } from "./verified-action";

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
}

/**
 * The work behind one verified interaction: who is asking, is the proposal still open and unchanged, then exactly
 * one decision per proposal, enforced by the store's atomic `transition`.
 */
export async function processAction(action: VerifiedAction, deps: ApprovalDeps): Promise<ActionResult> {
  if (action.kind === "open-exemption") return openExemptionForm(action, deps);

  const session = new ActionSession(action, deps);
  const admission = await admitClick(session, async (proposal) => {
    const expired = await expireProposal(proposal, deps, session.messenger);
    await session.reply(expired ? expiredReply(proposal) : await currentDecision(proposal, deps));
    return expired ? "expired" : "already-decided";
  });
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

async function approve(proposal: Proposal, session: ActionSession): Promise<ActionResult> {
  const { deps, decider } = session;
  const approved = await session.decide(proposal, "approved");
  if (!approved) return "already-decided";
  await deps.log.append({ ...proposalFields(approved, deps), stage: "approved", at: session.at(), decidedBy: decider });
  await session.updateMessage(approved, { kind: "approved", by: decider });

  const execution = await executeReportingFailure(approved, session);
  const finalStatus = execution.status === "verified" ? "applied" : execution.status;
  if (!(await deps.proposals.transition(proposal.id, "approved", finalStatus))) {
    deps.logger.error(`proposal ${proposal.id} left the approved state while its plan was executing`);
  }
  await session.updateMessage({ ...approved, status: finalStatus }, { kind: "executed", by: decider, execution });
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

async function exempt(proposal: Proposal, reason: string, session: ActionSession, days = EXEMPTION_DAYS): Promise<ActionResult> {
  const { deps, decider } = session;
  const exempted = await session.decide(proposal, "exempted");
  if (!exempted) return "already-decided";
  const exemption: ExemptionRef = {
    source: "approval",
    resource: proposal.finding.resource.arn,
    controls: [proposal.control],
    reason,
    owner: decider.via === "slack" ? `${decider.name} (Slack ${decider.id})` : `${decider.name} (${decider.via} user ${decider.id})`,
    expires: new Date(deps.now().getTime() + days * 86_400_000).toISOString(),
  };
  await deps.exemptions.add(exemption);
  await deps.log.append({
    ...proposalFields(exempted, deps),
    stage: "exempted",
    at: session.at(),
    decidedBy: decider,
    reason,
    details: { owner: exemption.owner, expires: exemption.expires, controls: exemption.controls },
  });
  await session.updateMessage(exempted, { kind: "exempted", by: decider, reason, expires: exemption.expires });
  return "exempted";
}

export interface ExpireAndRemindOptions {
  /** A pending proposal this old without a reminder gets one, in its thread. */
  reminderAfterMs: number;
}

export interface ExpireAndRemindResult {
  expired: string[];
  reminded: string[];
}

/**
 * The scheduled housekeeping for pending proposals: expire the ones past their expiry (logged, message updated)
 * and send each older one a single reminder.
 */
export async function expireAndRemind(
  deps: Pick<ApprovalDeps, "proposals" | "log" | "slack" | "now" | "logger" | "describeControl">,
  options: ExpireAndRemindOptions,
): Promise<ExpireAndRemindResult> {
  const messenger = deps.slack ? new ProposalMessenger(deps.slack, deps.describeControl) : undefined;
  const result: ExpireAndRemindResult = { expired: [], reminded: [] };
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
  async decide(proposal: Proposal, to: "approved" | "rejected" | "exempted"): Promise<Proposal | undefined> {
    const decidedAt = this.at();
    if (await this.deps.proposals.transition(proposal.id, "pending", to, { decidedBy: this.decider, decidedAt })) {
      return { ...proposal, status: to, decidedBy: this.decider, decidedAt };
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
