import type { WebClient } from "@slack/web-api";
import type { Decider, LogDraft } from "../log/entry";
import type { LogStore } from "../log/port";
import type { ExemptionRef } from "../policy/decision";
import type { Proposal, ProposalStatus, ProposalStore } from "../proposals/proposal";
import { errorFields, planHash, resourceFields } from "../runner/log-fields";
import type { ExecutionOutcome } from "../runner/outcome";
import type { JsonObject } from "../support/json";
import type { Logger } from "../support/logger";
import { INTERACTIVITY_SOURCE } from "./acknowledge";
import type { MessageRef } from "./action-value";
import type { ApproverDirectory } from "./approvers";
import type { ExemptionStore } from "./exemption-store";
import { EXEMPTION_DAYS, type DescribeControl, type ProposalOutcome } from "./message";
import { ProposalMessenger, type ReplyTarget } from "./notifier";
import type { VerifiedAction } from "./verified-action";

/**
 * Carries out an approved plan: re-checks live state, applies, verifies and logs those stages. The engine's
 * executePlan, wired to the proposal's control, in production; never throws for an AWS failure, it reports it.
 */
export type ExecuteApprovedPlan = (proposal: Proposal, decidedBy: Decider) => Promise<ExecutionOutcome>;

export interface ApprovalDeps {
  proposals: ProposalStore;
  log: LogStore;
  /**
   * Absent when there is no Slack (the local page or the CLI decides): then nothing is posted, replied or
   * updated in Slack, and the ActionResult is the only answer.
   */
  slack?: WebClient;
  approvers: ApproverDirectory;
  now(): Date;
  execute: ExecuteApprovedPlan;
  exemptions: ExemptionStore;
  logger: Logger;
  describeControl: DescribeControl;
}

/** What became of one action; the local runner and tests read it, Slack users see the message and replies. */
export type ActionResult =
  | "unauthorised"
  | "not-found"
  | "already-decided"
  | "expired"
  | "plan-changed"
  | "modal-opened"
  | "modal-failed"
  | "rejected"
  | "exempted"
  | Extract<ProposalStatus, "applied" | "failed" | "no-longer-applies">;

/**
 * The work behind one verified interaction: who is asking, is the proposal still open and unchanged, then exactly
 * one decision per proposal, enforced by the store's atomic `transition`.
 */
export async function processAction(action: VerifiedAction, deps: ApprovalDeps): Promise<ActionResult> {
  const session = new ActionSession(action, deps);

  if (!(await deps.approvers.isApprover(action.user.id))) {
    await deps.log.append({
      stage: "unauthorised-attempt",
      at: session.at(),
      proposalId: action.proposalId,
      planHash: action.planHash,
      reason: `Slack user ${action.user.id} is not an approver in the policy`,
      details: attemptDetails(action),
    });
    await session.reply("You are not authorised to decide remediation proposals. Ask an approver named in the policy.");
    return "unauthorised";
  }

  const proposal = await deps.proposals.get(action.proposalId);
  if (!proposal) {
    await session.refuse({ proposalId: action.proposalId }, `proposal ${action.proposalId} does not exist`);
    await session.reply("This proposal no longer exists.");
    return "not-found";
  }
  if (proposal.status !== "pending") {
    await session.reply(describeDecision(proposal));
    return "already-decided";
  }
  if (deps.now().getTime() > Date.parse(proposal.expiresAt)) {
    const expired = await expireProposal(proposal, deps, session.messenger);
    await session.reply(expired ? `This proposal expired at ${proposal.expiresAt}; nothing was changed.` : await current(proposal, deps));
    return expired ? "expired" : "already-decided";
  }
  // The button pins the plan the approver saw; the stored plan must still hash to the stored hash.
  const storedPlanHash = planHash(proposal.plan);
  if (action.planHash !== proposal.planHash || storedPlanHash !== proposal.planHash) {
    await session.refuse(
      proposalFields(proposal, deps),
      action.planHash !== proposal.planHash
        ? `plan hash mismatch: the button carries ${action.planHash}, the proposal holds ${proposal.planHash}`
        : `stored plan hashes to ${storedPlanHash}, not to the recorded ${proposal.planHash}`,
    );
    await session.reply("The plan changed after this message was posted, so this click was refused. Nothing was changed.");
    return "plan-changed";
  }

  switch (action.kind) {
    case "approve":
      return approve(proposal, session);
    case "reject":
      return rejectProposal(proposal, session, action.reason);
    case "open-exemption":
      return openExemptionModal(proposal, action.triggerId, action.message, session);
    case "exempt":
      return exempt(proposal, action.reason, session, action.days);
  }
}

/** Slack's trigger_id lives three seconds: a failure is reported to the user, never retried. */
async function openExemptionModal(
  proposal: Proposal,
  triggerId: string,
  message: MessageRef | undefined,
  session: ActionSession,
): Promise<ActionResult> {
  try {
    if (!session.messenger) throw new Error("no Slack client configured");
    await session.messenger.openExemptionModal(proposal, triggerId, message);
    return "modal-opened";
  } catch (error) {
    session.deps.logger.warn(`could not open the exemption form for proposal ${proposal.id}`, { error: errorFields(error) });
    await session.reply("Slack did not open the exemption form in time. Click Exempt again.");
    return "modal-failed";
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

/** What a person sees when the proposal was decided before their click counted. */
export function describeDecision(proposal: Proposal): string {
  const by = proposal.decidedBy ? ` by ${proposal.decidedBy.name || proposal.decidedBy.id}` : "";
  const when = proposal.decidedAt ? ` at ${proposal.decidedAt}` : "";
  switch (proposal.status) {
    case "pending":
      return "This proposal is still waiting for a decision.";
    case "expired":
      return `This proposal expired at ${proposal.expiresAt} without a decision.`;
    case "approved":
      return `Already approved${by}${when}; the fix is being applied.`;
    case "applied":
      return `Already approved${by}${when}; the fix was applied and verified.`;
    case "failed":
      return `Already approved${by}${when}; applying the fix failed.`;
    case "no-longer-applies":
      return `Already approved${by}${when}; the fix no longer applied.`;
    case "rejected":
      return `Already rejected${by}${when}.`;
    case "exempted":
      return `Already exempted${by}${when}.`;
  }
}

/** The fields every log entry about a proposal shares, so its entries can be joined with the finding's. */
export function proposalFields(
  proposal: Proposal,
  deps: Pick<ApprovalDeps, "describeControl">,
): Omit<LogDraft, "stage" | "at"> {
  const hipaa = deps.describeControl(proposal.control)?.hipaa.sections;
  return {
    ...(proposal.finding.event ? { eventId: proposal.finding.event.id, actor: proposal.finding.event.actor } : {}),
    resource: resourceFields(proposal.finding.resource),
    control: proposal.control,
    ...(hipaa ? { hipaa: [...hipaa] } : {}),
    proposalId: proposal.id,
    planHash: proposal.planHash,
  };
}

async function current(proposal: Proposal, deps: Pick<ApprovalDeps, "proposals">): Promise<string> {
  const latest = await deps.proposals.get(proposal.id);
  return describeDecision(latest ?? proposal);
}

async function bestEffort(logger: Logger, what: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    logger.warn(`${what} failed`, { error: errorFields(error) });
  }
}

/** Who tried what, for entries about clicks that were not decisions. */
function attemptDetails(action: VerifiedAction): JsonObject {
  return { attemptedBy: { id: action.user.id, name: action.user.name, via: action.via }, action: action.kind };
}

/** Per-action helpers: the decider, replies to the clicking user, and message updates. */
class ActionSession {
  readonly decider: Decider;
  readonly messenger: ProposalMessenger | undefined;
  private readonly target: ReplyTarget;

  constructor(
    private readonly action: VerifiedAction,
    readonly deps: ApprovalDeps,
  ) {
    this.decider = { id: action.user.id, name: action.user.name, via: action.via };
    this.messenger = deps.slack ? new ProposalMessenger(deps.slack, deps.describeControl) : undefined;
    this.target = {
      userId: action.user.id,
      ...(action.responseUrl ? { responseUrl: action.responseUrl } : {}),
      ...(action.message ? { channel: action.message.channel } : {}),
    };
  }

  at(): string {
    return this.deps.now().toISOString();
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
    await this.reply(await current(proposal, this.deps));
    return undefined;
  }

  /** Replies are courtesy: the decision is already recorded, so a failed reply is logged and not retried. */
  async reply(text: string): Promise<void> {
    const messenger = this.messenger;
    if (!messenger || (!this.target.responseUrl && !this.target.channel)) return;
    await bestEffort(this.deps.logger, `reply to ${this.action.user.id}`, () => messenger.tellUser(this.target, text));
  }

  async updateMessage(proposal: Proposal, outcome: ProposalOutcome): Promise<void> {
    const messenger = this.messenger;
    const message: MessageRef | undefined = proposal.slack ?? this.action.message;
    if (!messenger || !message) return;
    await bestEffort(this.deps.logger, `message update for proposal ${proposal.id}`, () =>
      messenger.updateOutcome(proposal, outcome, message),
    );
  }

  /** A refused click: logged as rejected input with the reason, never acted on. */
  async refuse(fields: Omit<LogDraft, "stage" | "at">, reason: string): Promise<void> {
    this.deps.logger.warn("refused Slack action", { proposalId: this.action.proposalId, reason });
    await this.deps.log.append({
      ...fields,
      stage: "rejected",
      at: this.at(),
      source: INTERACTIVITY_SOURCE,
      reason,
      details: attemptDetails(this.action),
    });
  }
}
