import { z } from "zod";
import type { Finding, Plan, ResourceRef } from "../controls/contract";
import type { EventRef } from "../events/change-event";
import type { Decider } from "../log/entry";
import { isJsonObject, type JsonObject } from "../support/json";
import { CorruptProposalError } from "./errors";
import type { Proposal, ProposalStatus } from "./proposal";

export const PROPOSAL_STATUSES = [
  "pending",
  "approved",
  "applying",
  "rejected",
  "exempted",
  "expired",
  "applied",
  "failed",
  "no-longer-applies",
] as const satisfies readonly ProposalStatus[];

const jsonObject = z.custom<JsonObject>(isJsonObject, { message: "expected a JSON object" });

const resourceRefSchema = z.object({
  type: z.string(),
  id: z.string(),
  arn: z.string(),
  account: z.string(),
  region: z.string(),
}) satisfies z.ZodType<ResourceRef>;

const eventRefSchema = z.object({
  id: z.string(),
  name: z.string(),
  source: z.string(),
  time: z.string(),
  actor: z.string(),
}) satisfies z.ZodType<EventRef>;

const findingSchema = z.object({
  control: z.string(),
  resource: resourceRefSchema,
  summary: z.string(),
  evidence: jsonObject,
  confirmed: z.boolean(),
  tags: z.record(z.string(), z.string()),
  event: eventRefSchema.optional(),
}) satisfies z.ZodType<Finding>;

const planSchema = z.object({
  control: z.string(),
  resource: resourceRefSchema,
  summary: z.string(),
  steps: z.array(z.string()),
  reversible: z.boolean(),
  notifyOnly: z.boolean().optional(),
  params: jsonObject,
}) satisfies z.ZodType<Plan>;

export const deciderSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  via: z.enum(["slack", "web", "cli"]),
}) satisfies z.ZodType<Decider>;

export const slackMessageRefSchema = z.object({ channel: z.string().min(1), ts: z.string().min(1) });

/** A proposal as read back from a store: stores validate what they load, so a damaged row fails with its path. */
export const proposalSchema = z.object({
  id: z.string().min(1),
  createdAt: z.string(),
  expiresAt: z.string(),
  status: z.enum(PROPOSAL_STATUSES),
  control: z.string(),
  finding: findingSchema,
  plan: planSchema,
  planHash: z.string(),
  eventId: z.string().optional(),
  slack: slackMessageRefSchema.optional(),
  decidedBy: deciderSchema.optional(),
  decidedAt: z.string().optional(),
  reminderSentAt: z.string().optional(),
  leaseHolder: z.string().min(1).optional(),
  leaseExpiresAt: z.string().optional(),
}) satisfies z.ZodType<Proposal>;

/** The first issue of a failed parse, as a dotted field path and a message, for errors that name the field. */
export function firstIssue(error: z.ZodError, prefix = ""): { field: string; message: string } {
  const issue = error.issues[0];
  const path = issue ? issue.path.map(String).join(".") : "";
  const field = [prefix, path].filter(Boolean).join(".") || "(root)";
  return { field, message: issue?.message ?? "invalid" };
}

/** Validates a proposal read back from a store; `where` names the store and id for the error message. */
export function parseStoredProposal(value: unknown, where: string): Proposal {
  const result = proposalSchema.safeParse(value);
  if (result.success) return result.data;
  const { field, message } = firstIssue(result.error);
  throw new CorruptProposalError(`${where}: stored proposal is invalid at ${field}: ${message}`, field, {
    cause: result.error,
  });
}
