import { z } from "zod";
import { buttonValueSchema, modalMetadataSchema } from "./action-value";
import { APPROVAL_ACTION_IDS, EXEMPTION_MODAL, MAX_EXEMPTION_DAYS } from "./message";

const messageRefSchema = z.object({ channel: z.string().min(1), ts: z.string().min(1) });

const actionCommon = {
  proposalId: z.string().min(1),
  planHash: z.string().min(1),
  /** The Slack user who clicked or submitted; `name` is their Slack name, or the id when Slack sent none. */
  user: z.object({ id: z.string().min(1), name: z.string().min(1) }),
  /** Where the decision was made; the local page and the CLI build actions with "web" or "cli". */
  via: z.enum(["slack", "web", "cli"]).default("slack"),
  responseUrl: z.url().optional(),
  /** The proposal's message, as Slack reported it with the interaction. */
  message: messageRefSchema.optional(),
};

/**
 * An interaction whose signature checked out, reduced to what processing needs. It is plain JSON so the Lambda
 * endpoint can hand it to the approvals queue; the worker parses it back with this schema.
 */
export const verifiedActionSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("approve"), ...actionCommon }),
  // The local page and the CLI may give a reason for a rejection; Slack's Reject button does not ask for one.
  z.object({
    kind: z.literal("reject"),
    ...actionCommon,
    reason: z.string().trim().min(1).max(EXEMPTION_MODAL.maxReasonLength).optional(),
  }),
  z.object({ kind: z.literal("open-exemption"), ...actionCommon, triggerId: z.string().min(1) }),
  z.object({
    kind: z.literal("exempt"),
    ...actionCommon,
    reason: z.string().min(EXEMPTION_MODAL.minReasonLength),
    /** The CLI may ask for a shorter or longer exemption; Slack and the page grant EXEMPTION_DAYS. */
    days: z.number().int().min(1).max(MAX_EXEMPTION_DAYS).optional(),
  }),
]);
export type VerifiedAction = z.infer<typeof verifiedActionSchema>;
/** What a builder may leave out (`via` defaults to "slack"); parse with verifiedActionSchema to get a VerifiedAction. */
export type VerifiedActionInput = z.input<typeof verifiedActionSchema>;

/** Parses a JSON string field and then validates the result, so a bad value is reported like any other field. */
function jsonText<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        ctx.addIssue({ code: "custom", message: "is not JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const slackUserSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().optional(),
  username: z.string().optional(),
});

const BUTTON_ACTION_IDS = Object.values(APPROVAL_ACTION_IDS);

export const blockActionsPayloadSchema = z.looseObject({
  type: z.literal("block_actions"),
  user: slackUserSchema,
  trigger_id: z.string().min(1),
  response_url: z.url().optional(),
  channel: z.looseObject({ id: z.string().min(1) }).optional(),
  container: z.looseObject({ message_ts: z.string().optional(), channel_id: z.string().optional() }).optional(),
  actions: z.array(z.looseObject({ action_id: z.enum(BUTTON_ACTION_IDS), value: jsonText(buttonValueSchema) })).length(1),
});

const inputValueSchema = z.looseObject({ value: z.string().nullish() });

export const viewSubmissionPayloadSchema = z.looseObject({
  type: z.literal("view_submission"),
  user: slackUserSchema,
  view: z.looseObject({
    callback_id: z.literal(EXEMPTION_MODAL.callbackId),
    private_metadata: jsonText(modalMetadataSchema),
    state: z.looseObject({
      values: z.record(z.string(), z.record(z.string(), inputValueSchema)),
    }),
  }),
});

/** The interaction types this app handles; others (a modal closed, a shortcut) are acknowledged and ignored. */
export const HANDLED_PAYLOAD_TYPES = ["block_actions", "view_submission"] as const;

export const interactionPayloadSchema = z.discriminatedUnion("type", [blockActionsPayloadSchema, viewSubmissionPayloadSchema]);
export type InteractionPayload = z.infer<typeof interactionPayloadSchema>;
