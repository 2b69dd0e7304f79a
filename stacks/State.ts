import { EXEMPTIONS_TABLE_KEYS, IDEMPOTENCY_TABLE_KEYS, PROPOSALS_TABLE_KEYS, RATE_LIMIT_TABLE_SCHEMA } from "@hipaa-remediate/core";
import { Config, type StackContext } from "sst/constructs";
import { durableTable } from "./lib/tables";

/**
 * What the engine keeps between events besides the log: proposals waiting for a person, exemptions granted from
 * an approval, idempotency records, rate-limit counters, and the Slack secrets (set with `npx sst secrets set SLACK_BOT_TOKEN ...`).
 */
export function State({ stack }: StackContext) {
  const proposals = durableTable(stack, "Proposals", {
    // A proposal records who approved which fix: audit evidence, like the log.
    deletionProtection: true,
    partitionKey: PROPOSALS_TABLE_KEYS.partitionKey,
    globalIndexes: [
      {
        indexName: PROPOSALS_TABLE_KEYS.byStatusIndex.name,
        partitionKey: PROPOSALS_TABLE_KEYS.byStatusIndex.partitionKey,
        sortKey: PROPOSALS_TABLE_KEYS.byStatusIndex.sortKey,
      },
    ],
  });
  const exemptions = durableTable(stack, "Exemptions", {
    // Who exempted which resource, why and until when: audit evidence too.
    deletionProtection: true,
    partitionKey: EXEMPTIONS_TABLE_KEYS.partitionKey,
  });
  const idempotency = durableTable(stack, "Idempotency", {
    deletionProtection: false,
    partitionKey: IDEMPOTENCY_TABLE_KEYS.partitionKey,
    timeToLiveAttribute: IDEMPOTENCY_TABLE_KEYS.timeToLiveAttribute,
  });
  const rateLimit = durableTable(stack, "RateLimit", {
    deletionProtection: false,
    partitionKey: RATE_LIMIT_TABLE_SCHEMA.partitionKey,
    timeToLiveAttribute: RATE_LIMIT_TABLE_SCHEMA.timeToLiveAttribute,
  });
  const slackSigningSecret = new Config.Secret(stack, "SLACK_SIGNING_SECRET");
  const slackBotToken = new Config.Secret(stack, "SLACK_BOT_TOKEN");

  stack.addOutputs({
    ProposalsTableName: proposals.table.tableName,
    ExemptionsTableName: exemptions.table.tableName,
    IdempotencyTableName: idempotency.table.tableName,
    RateLimitTableName: rateLimit.table.tableName,
  });
  return { proposals, exemptions, idempotency, rateLimit, slackSigningSecret, slackBotToken };
}
