import { createHmac } from "node:crypto";
import { APPROVAL_ACTION_IDS, EXEMPTION_MODAL, type ApprovalButton, type Proposal } from "@hipaa-remediate/core";

export const TEST_SIGNING_SECRET = "test-signing-secret-0123456789abcdef";

export interface SignedSlackRequest {
  rawBody: string;
  headers: Record<string, string>;
}

/**
 * Signs a request body the way Slack does: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` keyed with the
 * signing secret. Written independently of the code under test so a shared mistake cannot cancel out.
 */
export function signSlackBody(body: string, options: { timestamp: Date; secret?: string }): SignedSlackRequest {
  const timestamp = String(Math.floor(options.timestamp.getTime() / 1000));
  const digest = createHmac("sha256", options.secret ?? TEST_SIGNING_SECRET)
    .update(`v0:${timestamp}:${body}`)
    .digest("hex");
  return {
    rawBody: body,
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Slack-Request-Timestamp": timestamp,
      "X-Slack-Signature": `v0=${digest}`,
    },
  };
}

/** Interactivity payloads arrive as a form with one `payload` field holding JSON. */
export function signInteraction(payload: object, options: { timestamp: Date; secret?: string }): SignedSlackRequest {
  return signSlackBody(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), options);
}

export interface SlackTestUser {
  id: string;
  name: string;
}

export interface ClickOptions {
  user: SlackTestUser;
  /** Defaults to the proposal's own hash; pass another to simulate a stale or forged button. */
  planHash?: string;
  responseUrl?: string;
  channel?: string;
  messageTs?: string;
}

/** A `block_actions` payload for a click on one of a proposal message's buttons, shaped like Slack's. */
export function buttonClickPayload(proposal: Proposal, button: ApprovalButton, options: ClickOptions): object {
  const channel = options.channel ?? proposal.slack?.channel ?? "C0APPROVALS";
  const messageTs = options.messageTs ?? proposal.slack?.ts ?? "1700000000.000001";
  return {
    type: "block_actions",
    user: { id: options.user.id, username: options.user.name, name: options.user.name, team_id: "T0TEAM" },
    api_app_id: "A0APP",
    token: "legacy-verification-token",
    container: { type: "message", message_ts: messageTs, channel_id: channel, is_ephemeral: false },
    trigger_id: "1234567890.1234567890.abcdef",
    team: { id: "T0TEAM", domain: "example" },
    channel: { id: channel, name: "phi-approvals" },
    message: { type: "message", ts: messageTs, text: "HIPAA fix awaiting approval" },
    ...(options.responseUrl ? { response_url: options.responseUrl } : {}),
    actions: [
      {
        type: "button",
        block_id: "proposal-actions",
        action_id: APPROVAL_ACTION_IDS[button],
        text: { type: "plain_text", text: button },
        value: JSON.stringify({ p: proposal.id, h: options.planHash ?? proposal.planHash }),
        action_ts: "1700000001.000000",
      },
    ],
  };
}

/** A `view_submission` payload for the exemption modal with the given reason. */
export function exemptionSubmissionPayload(
  proposal: Proposal,
  options: { user: SlackTestUser; reason: string; planHash?: string },
): object {
  return {
    type: "view_submission",
    team: { id: "T0TEAM", domain: "example" },
    user: { id: options.user.id, username: options.user.name, name: options.user.name, team_id: "T0TEAM" },
    api_app_id: "A0APP",
    trigger_id: "1234567890.1234567890.fedcba",
    view: {
      id: "V0MODAL",
      type: "modal",
      callback_id: EXEMPTION_MODAL.callbackId,
      private_metadata: JSON.stringify({
        p: proposal.id,
        h: options.planHash ?? proposal.planHash,
        ...(proposal.slack ? { m: proposal.slack } : {}),
      }),
      state: {
        values: {
          [EXEMPTION_MODAL.reasonBlockId]: {
            [EXEMPTION_MODAL.reasonActionId]: { type: "plain_text_input", value: options.reason },
          },
        },
      },
    },
  };
}
