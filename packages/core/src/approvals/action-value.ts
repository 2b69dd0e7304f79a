import { z } from "zod";

/** Where a proposal's Slack message lives. */
export interface MessageRef {
  channel: string;
  ts: string;
}

/**
 * What an approval button carries: the proposal id and the plan hash, never the plan. The hash pins the approval
 * to the exact plan the approver saw.
 */
export const buttonValueSchema = z.object({ p: z.string().min(1), h: z.string().regex(/^[0-9a-f]{64}$/) });
export type ButtonValue = z.infer<typeof buttonValueSchema>;

/** The exemption modal's private metadata: the button value plus the message to update afterwards. */
export const modalMetadataSchema = buttonValueSchema.extend({
  m: z.object({ channel: z.string().min(1), ts: z.string().min(1) }).optional(),
});
export type ModalMetadata = z.infer<typeof modalMetadataSchema>;

export function encodeButtonValue(value: ButtonValue): string {
  return JSON.stringify({ p: value.p, h: value.h });
}

export function encodeModalMetadata(metadata: ModalMetadata): string {
  return JSON.stringify(metadata);
}
