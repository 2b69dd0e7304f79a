import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDbLogStore,
  DynamoDbProposalStore,
  expireAndRemind,
  loadPolicy,
  type ApprovalDeps,
  type ExpireAndRemindResult,
} from "@hipaa-remediate/core";
import { controlById, controls } from "@hipaa-remediate/remediations";
import { WebClient } from "@slack/web-api";
import type { Context } from "aws-lambda";
import { once, powertoolsLogger, readOptionalSlackSecret, requiredEnv } from "./wiring/runtime";

export type HousekeepingDeps = Pick<ApprovalDeps, "proposals" | "log" | "slack" | "now" | "logger" | "describeControl"> & {
  /** From the policy's proposals.reminderAfterHours. */
  reminderAfterMs: number;
};

/**
 * The scheduled proposal housekeeping: approvals whose worker died mid-apply (lease run out) are closed with what the
 * log supports, pending proposals past their expiry are expired (logged, the Slack message updated) and older ones
 * get a single threaded reminder. Runs every few minutes; each step is idempotent.
 */
export function createHousekeepingHandler(getDeps: () => Promise<HousekeepingDeps>) {
  return async (_event?: unknown, _context?: Context): Promise<ExpireAndRemindResult> => {
    const deps = await getDeps();
    const result = await expireAndRemind(deps, { reminderAfterMs: deps.reminderAfterMs });
    deps.logger.info("proposal housekeeping", {
      expired: result.expired.length,
      reminded: result.reminded.length,
      resolvedInterruptedApplies: result.resolved,
    });
    return result;
  };
}

async function deployedHousekeepingDeps(): Promise<HousekeepingDeps> {
  const policy = await loadPolicy(process.env.POLICY_FILE, controls);
  const dynamodb = new DynamoDBClient({});
  const botToken = await readOptionalSlackSecret("SLACK_BOT_TOKEN");
  return {
    proposals: new DynamoDbProposalStore(dynamodb, requiredEnv("PROPOSALS_TABLE")),
    log: new DynamoDbLogStore({ client: dynamodb, tableName: requiredEnv("LOG_TABLE") }),
    ...(botToken ? { slack: new WebClient(botToken) } : {}),
    now: () => new Date(),
    logger: powertoolsLogger(process.env.POWERTOOLS_SERVICE_NAME ?? "hipaa-remediate-proposal-housekeeping"),
    describeControl: controlById,
    reminderAfterMs: policy.proposals.reminderAfterHours * 3_600_000,
  };
}

export const handler = createHousekeepingHandler(once(deployedHousekeepingDeps));
