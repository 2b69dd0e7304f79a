import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { slackContextFor, type ControlSummary, type Policy } from "@hipaa-remediate/core";
import type { FunctionCopyFilesProps } from "sst/constructs";

const BUNDLED_NAME = "slack-context.json";

/**
 * Writes the Slack interactivity endpoint's context (approvers and control names, from the validated policy and
 * the registry) next to the build, and says how the function receives it. The endpoint reads this file instead
 * of parsing the policy with the registry, so its bundle holds no control and no EC2, S3 or IAM client.
 */
export function slackContextFiles(
  root: string,
  stage: string,
  policy: Pick<Policy, "approvers">,
  controls: readonly ControlSummary[],
): { environment: Record<string, string>; copyFiles: FunctionCopyFilesProps[] } {
  // Per stage, so two stages built from one checkout never ship each other's approvers.
  const relativeDir = join(".build", "generated", stage);
  mkdirSync(join(root, relativeDir), { recursive: true });
  const from = join(relativeDir, BUNDLED_NAME);
  writeFileSync(join(root, from), `${JSON.stringify(slackContextFor(policy.approvers, controls), null, 2)}\n`);
  return { environment: { SLACK_CONTEXT_FILE: `/var/task/${BUNDLED_NAME}` }, copyFiles: [{ from, to: BUNDLED_NAME }] };
}
