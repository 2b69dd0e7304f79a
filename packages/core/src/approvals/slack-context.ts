import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { ApproverPolicy } from "./approvers";
import type { ControlSummary, DescribeControl } from "./message";

/**
 * What the Slack interactivity endpoint needs from the policy and the catalog: who may decide, and how to name a
 * control in a message. It is written at synth time from the fully validated policy, so the endpoint never loads
 * the control registry, whose controls pull in every AWS client, and keeps its cold start inside Slack's 3 seconds.
 */
export interface SlackContext {
  approvers: ApproverPolicy;
  controls: ControlSummary[];
}

export class SlackContextError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SlackContextError";
  }
}

const slackContextSchema = z.strictObject({
  approvers: z.strictObject({ users: z.array(z.string()), userGroups: z.array(z.string()) }),
  controls: z.array(
    z.strictObject({
      id: z.string().min(1),
      title: z.string(),
      hipaa: z.strictObject({ sections: z.array(z.string()), why: z.string() }),
    }),
  ),
});

/** The context for a policy's approvers and a registry; only the fields a message shows are kept. */
export function slackContextFor(approvers: ApproverPolicy, controls: readonly ControlSummary[]): SlackContext {
  return {
    approvers: { users: [...approvers.users], userGroups: [...approvers.userGroups] },
    controls: controls.map(({ id, title, hipaa }) => ({ id, title, hipaa: { sections: [...hipaa.sections], why: hipaa.why } })),
  };
}

export function parseSlackContext(text: string, source: string): SlackContext {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SlackContextError(`${source}: not JSON; redeploy to regenerate it`, { cause: error });
  }
  const result = slackContextSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.map(String).join(".") || "(file)";
    throw new SlackContextError(`${source}: ${field}: ${issue?.message ?? "invalid"}; redeploy to regenerate it`, { cause: result.error });
  }
  return result.data;
}

export async function loadSlackContext(path: string): Promise<SlackContext> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new SlackContextError(`cannot read the Slack context file ${path}`, { cause: error });
  }
  return parseSlackContext(text, path);
}

/** Looks controls up by id in the context, as the registry's `controlById` would. */
export function describeFromContext(context: SlackContext): DescribeControl {
  const byId = new Map(context.controls.map((control) => [control.id, control]));
  return (id) => byId.get(id);
}
