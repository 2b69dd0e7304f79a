import { errorFields } from "../runner/log-fields";
import { admitClick, ClickSession, expiredReply, type ActionResult, type ClickDeps } from "./click-session";
import type { VerifiedAction } from "./verified-action";

export type OpenExemptionAction = Extract<VerifiedAction, { kind: "open-exemption" }>;

/**
 * Only reads and replies: the proposal store needs `get` alone, so the Slack endpoint can run this with read
 * access to the proposals table and no more.
 */
export type ExemptionFormDeps = ClickDeps;

/**
 * Opens the "Exempt for 30 days" form for a click on Exempt, after the checks every click passes. Slack's
 * trigger_id lives three seconds, so the deployed Slack endpoint runs this before it answers instead of queueing
 * it; a failure is reported to the user, never retried. Nothing is decided here: the form's submission is the
 * decision, and it is checked again when it arrives.
 */
export async function openExemptionForm(action: OpenExemptionAction, deps: ExemptionFormDeps): Promise<ActionResult> {
  const session = new ClickSession(action, deps);
  // Recording the expiry would need write access; opening a form changes nothing, so it only tells the user.
  const admission = await admitClick(session, async (proposal) => {
    await session.reply(expiredReply(proposal));
    return "expired";
  });
  if (!admission.admitted) return admission.result;
  const { proposal } = admission;
  try {
    if (!session.messenger) throw new Error("no Slack client configured");
    await session.messenger.openExemptionModal(proposal, action.triggerId, action.message);
    return "modal-opened";
  } catch (error) {
    deps.logger.warn(`could not open the exemption form for proposal ${proposal.id}`, { error: errorFields(error) });
    await session.reply("Slack did not open the exemption form in time. Click Exempt again.");
    return "modal-failed";
  }
}
