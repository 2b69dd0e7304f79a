import type { WebClient } from "@slack/web-api";
import type { LogDraft } from "../log/entry";
import type { LogStore } from "../log/port";
import type { Proposal, ProposalStatus, ProposalStore } from "../proposals/proposal";
import { errorFields, planHash, resourceFields } from "../runner/log-fields";
import type { JsonObject } from "../support/json";
import type { Logger } from "../support/logger";
import { INTERACTIVITY_SOURCE } from "./acknowledge";
import type { ApproverDirectory } from "./approvers";
import type { DescribeControl } from "./message";
import { ProposalMessenger, type ReplyTarget } from "./notifier";
import type { VerifiedAction } from "./verified-action";

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
 * What checking and answering a click needs, without deciding anything: read the proposal, check the approver,
 * log a refusal and reply to the person who clicked.
 */
export interface ClickDeps {
  proposals: Pick<ProposalStore, "get">;
  log: LogStore;
  /**
   * Absent when there is no Slack (the local page or the CLI decides): then nothing is posted, replied or
   * updated in Slack, and the ActionResult is the only answer.
   */
  slack?: WebClient;
  approvers: ApproverDirectory;
  now: () => Date;
  logger: Logger;
  describeControl: DescribeControl;
}

/** Per-click helpers: the Slack messenger, private replies to the clicking user, and logged refusals. */
export class ClickSession<Deps extends ClickDeps = ClickDeps> {
  readonly messenger: ProposalMessenger | undefined;
  private readonly target: ReplyTarget;

  constructor(
    readonly action: VerifiedAction,
    readonly deps: Deps,
  ) {
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

  /** Replies are courtesy: the decision is already recorded, so a failed reply is logged and not retried. */
  async reply(text: string): Promise<void> {
    const messenger = this.messenger;
    if (!messenger || (!this.target.responseUrl && !this.target.channel)) return;
    await bestEffort(this.deps.logger, `reply to ${this.action.user.id}`, () => messenger.tellUser(this.target, text));
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

/** A click that passed every check, with its proposal, or the answer already given to one that did not. */
export type Admission = { admitted: true; proposal: Proposal } | { admitted: false; result: ActionResult };

/**
 * The checks every click passes before it counts, in order: the user is an approver, the proposal exists, is
 * still pending and unexpired, and holds the plan the button pinned. A failed check is logged where it is
 * evidence, and the user is told why. What an expired proposal does is the caller's: a decision records the
 * expiry, a click that only opens a form leaves that to housekeeping or the next decision. `isRetry` admits a
 * proposal already decided by this very action (a redelivery that must finish what the first delivery began).
 */
export async function admitClick(
  session: ClickSession,
  onExpired: (proposal: Proposal) => Promise<ActionResult>,
  isRetry: (proposal: Proposal) => boolean = () => false,
): Promise<Admission> {
  const { action, deps } = session;
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
    return { admitted: false, result: "unauthorised" };
  }

  const proposal = await deps.proposals.get(action.proposalId);
  if (!proposal) {
    await session.refuse({ proposalId: action.proposalId }, `proposal ${action.proposalId} does not exist`);
    await session.reply("This proposal no longer exists.");
    return { admitted: false, result: "not-found" };
  }
  const retry = isRetry(proposal);
  if (proposal.status !== "pending" && !retry) {
    await session.reply(describeDecision(proposal));
    return { admitted: false, result: "already-decided" };
  }
  if (!retry && deps.now().getTime() > Date.parse(proposal.expiresAt)) {
    return { admitted: false, result: await onExpired(proposal) };
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
    return { admitted: false, result: "plan-changed" };
  }
  return { admitted: true, proposal };
}

/** The reply to a click on a proposal past its expiry. */
export function expiredReply(proposal: Proposal): string {
  return `This proposal expired at ${proposal.expiresAt}; nothing was changed.`;
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
    case "applying":
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
export function proposalFields(proposal: Proposal, deps: Pick<ClickDeps, "describeControl">): Omit<LogDraft, "stage" | "at"> {
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

/** The proposal as it stands now, described for the person whose click came too late. */
export async function currentDecision(proposal: Proposal, deps: Pick<ClickDeps, "proposals">): Promise<string> {
  const latest = await deps.proposals.get(proposal.id);
  return describeDecision(latest ?? proposal);
}

export async function bestEffort(logger: Logger, what: string, work: () => Promise<unknown>): Promise<void> {
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
