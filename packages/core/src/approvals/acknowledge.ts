import type { LogStore } from "../log/port";
import { firstIssue } from "../proposals/schema";
import type { Logger } from "../support/logger";
import { APPROVAL_ACTION_IDS, EXEMPTION_MODAL } from "./message";
import { SlackSignatureError, verifySlackSignature, type SignedRequest } from "./slack-signature";
import type { UnauthenticatedRequests } from "./unauthenticated-requests";
import { HANDLED_PAYLOAD_TYPES, interactionPayloadSchema, type InteractionPayload, type VerifiedAction } from "./verified-action";

export interface AcknowledgeDeps {
  signingSecret: string;
  now: () => Date;
  log: LogStore;
  logger: Logger;
  /**
   * Counts and rate-limits the warnings about requests whose signature fails. Without it each one is a plain
   * warning (tests, tools); either way none reaches the audit log.
   */
  unauthenticated?: UnauthenticatedRequests;
}

/** The HTTP reply for Slack, plus the work to do after replying (absent when there is nothing to do). */
export interface Acknowledgement {
  status: number;
  contentType: "text/plain" | "application/json";
  body: string;
  work?: VerifiedAction;
}

/** Logged as the `source` of rejected interactions. */
export const INTERACTIVITY_SOURCE = "slack-interactivity";

/**
 * The cheap first half of an interaction, run inside Slack's three-second window: verify the signature first,
 * then parse the payload. Nothing is loaded or changed here; `processAction` does the work.
 */
export async function acknowledge(request: SignedRequest, deps: AcknowledgeDeps): Promise<Acknowledgement> {
  try {
    verifySlackSignature(request, deps.signingSecret, deps.now());
  } catch (error) {
    if (!(error instanceof SlackSignatureError)) throw error;
    // Unauthenticated: anyone on the internet can send this, so it must not grow the audit log, which cannot be
    // shortened. The body is attacker-controlled too: only why it was refused is logged.
    const reason = `${error.reason}: ${error.message}`;
    if (deps.unauthenticated) deps.unauthenticated.record("slack-signature", reason);
    else deps.logger.warn("refused an unauthenticated Slack request (not written to the audit log)", { reason });
    return plain(401, error.message);
  }

  const parsed = parsePayload(request.rawBody);
  // Signed by Slack from here on: what it sent is evidence, even when it is unusable.
  if (parsed.kind === "invalid") {
    await reject(deps, parsed.reason);
    return plain(400, parsed.reason);
  }
  if (parsed.kind === "ignored") {
    deps.logger.debug("ignored Slack interaction", { type: parsed.type });
    return plain(200, "");
  }
  return toAction(parsed.payload);
}

type ParsedPayload =
  { kind: "handled"; payload: InteractionPayload } | { kind: "ignored"; type: string } | { kind: "invalid"; reason: string };

function parsePayload(rawBody: string): ParsedPayload {
  const text = new URLSearchParams(rawBody).get("payload");
  if (text === null) return { kind: "invalid", reason: "request body has no `payload` form field" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: "invalid", reason: "`payload` form field is not JSON" };
  }
  const type = typeof json === "object" && json !== null && "type" in json ? json.type : undefined;
  if (typeof type !== "string") return { kind: "invalid", reason: "payload.type: expected a string" };
  if (!(HANDLED_PAYLOAD_TYPES as readonly string[]).includes(type)) return { kind: "ignored", type };
  const result = interactionPayloadSchema.safeParse(json);
  if (!result.success) {
    const { field, message } = firstIssue(result.error, "payload");
    return { kind: "invalid", reason: `${field}: ${message}` };
  }
  return { kind: "handled", payload: result.data };
}

function toAction(payload: InteractionPayload): Acknowledgement {
  const user = { id: payload.user.id, name: payload.user.name ?? payload.user.username ?? payload.user.id };
  if (payload.type === "view_submission") {
    const { p, h, m } = payload.view.private_metadata;
    const reason = payload.view.state.values[EXEMPTION_MODAL.reasonBlockId]?.[EXEMPTION_MODAL.reasonActionId]?.value?.trim() ?? "";
    if (Array.from(reason).length < EXEMPTION_MODAL.minReasonLength) {
      // Slack shows these errors inside the still-open modal.
      return {
        status: 200,
        contentType: "application/json",
        body: JSON.stringify({
          response_action: "errors",
          errors: { [EXEMPTION_MODAL.reasonBlockId]: `Give a reason of at least ${EXEMPTION_MODAL.minReasonLength} characters.` },
        }),
      };
    }
    // An empty body closes the modal; the outcome then appears in the channel message.
    return {
      ...plain(200, ""),
      work: { kind: "exempt", via: "slack", proposalId: p, planHash: h, user, reason, ...(m ? { message: m } : {}) },
    };
  }

  const [action] = payload.actions;
  if (!action) return plain(400, "payload.actions: expected one action");
  const channel = payload.channel?.id ?? payload.container?.channel_id;
  const ts = payload.container?.message_ts;
  const common = {
    via: "slack" as const,
    proposalId: action.value.p,
    planHash: action.value.h,
    user,
    ...(payload.response_url ? { responseUrl: payload.response_url } : {}),
    ...(channel && ts ? { message: { channel, ts } } : {}),
  };
  switch (action.action_id) {
    case APPROVAL_ACTION_IDS.approve:
      return { ...plain(200, ""), work: { kind: "approve", ...common } };
    case APPROVAL_ACTION_IDS.reject:
      return { ...plain(200, ""), work: { kind: "reject", ...common } };
    case APPROVAL_ACTION_IDS.exempt:
      return { ...plain(200, ""), work: { kind: "open-exemption", ...common, triggerId: payload.trigger_id } };
  }
}

async function reject(deps: AcknowledgeDeps, reason: string): Promise<void> {
  deps.logger.warn("rejected Slack interaction", { reason });
  await deps.log.append({ stage: "rejected", at: deps.now().toISOString(), source: INTERACTIVITY_SOURCE, reason });
}

function plain(status: number, body: string): Acknowledgement {
  return { status, contentType: "text/plain", body };
}
