import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import {
  accessDeniedMetricLine,
  accountAccessFor,
  CachedExemptionStore,
  ControlIndex,
  createAwsClients,
  DynamoDbExemptionStore,
  DynamoDbIdempotencyStore,
  DynamoDbLogStore,
  DynamoDbProposalStore,
  DynamoDbRateLimiter,
  engineIdentity,
  loadPolicy,
  powertoolsGuard,
  SlackNotifier,
  SqsDeferralQueue,
  type EngineDeps,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { WebClient } from "@slack/web-api";
import { once, powertoolsLogger, readOptionalSlackSecret, requiredEnv } from "./runtime";

/** How long a container reuses the exemptions table's contents (a Scan) before reading it again. */
const EXEMPTIONS_CACHE_MS = 60_000;

/**
 * The engine's dependencies inside Lambda, from the environment the stack sets: DynamoDB for the log,
 * proposals, idempotency and rate limits; the bundled policy; Slack when a bot token and channel are set.
 * The bench and the load test pass their own DynamoDB client, to count its calls or to give each consumer one.
 */
export async function buildDeployedEngineDeps(dynamodb: DynamoDBClient = new DynamoDBClient({})): Promise<EngineDeps> {
  const policy = await loadPolicy(process.env.POLICY_FILE, controls);
  // The role ARNs of every engine function, so a change made by any of them is never remediated again.
  const principals = [process.env.ENGINE_ROLE_ARN, ...(process.env.ENGINE_PRINCIPAL_ARNS ?? "").split(",")].filter((arn): arn is string =>
    Boolean(arn),
  );
  const identity = engineIdentity(policy, principals);
  const logger = powertoolsLogger(process.env.POWERTOOLS_SERVICE_NAME ?? "hipaa-remediate-engine");
  const proposals = new DynamoDbProposalStore(dynamodb, requiredEnv("PROPOSALS_TABLE"));
  const botToken = await readOptionalSlackSecret("SLACK_BOT_TOKEN");
  const channel = process.env.SLACK_CHANNEL ?? policy.slack.channel;
  const homeRegion = process.env.HOME_REGION ?? process.env.AWS_REGION ?? "us-east-1";
  // The engine's own queue: a deferred event goes back to it with an SQS delay (at most 900 s).
  const deferralQueueUrl = process.env.DEFERRAL_QUEUE_URL;
  // The engine's account and partition come from its own role; member accounts are reached through the policy's role.
  const accounts = accountAccessFor(policy.scope, process.env.ENGINE_ROLE_ARN, homeRegion);
  return {
    index: new ControlIndex(controls),
    policy,
    log: new DynamoDbLogStore({ client: dynamodb, tableName: requiredEnv("LOG_TABLE") }),
    guard: powertoolsGuard(new DynamoDbIdempotencyStore({ client: dynamodb, tableName: requiredEnv("IDEMPOTENCY_TABLE") })),
    rateLimiter: new DynamoDbRateLimiter({ client: dynamodb, tableName: requiredEnv("RATE_LIMIT_TABLE"), limits: policy.rateLimit }),
    proposals,
    ...(process.env.EXEMPTIONS_TABLE
      ? { exemptions: new CachedExemptionStore(new DynamoDbExemptionStore(dynamodb, process.env.EXEMPTIONS_TABLE), EXEMPTIONS_CACHE_MS) }
      : {}),
    ...(botToken && channel
      ? { notifier: new SlackNotifier(new WebClient(botToken), { channel, describeControl: (id) => controls.find((c) => c.id === id) }) }
      : {}),
    aws: createAwsClients({
      userAgent: identity.userAgent,
      ...(accounts ? { accounts } : {}),
      // The metric the access-denied alarm watches: a person must grant a permission or deploy the member role.
      onAccessDenied: (denial) => process.stdout.write(`${accessDeniedMetricLine(denial, new Date())}\n`),
    }),
    ...(accounts ? { account: accounts.home } : {}),
    now: () => new Date(),
    logger,
    identity,
    regions: (process.env.SWEEP_REGIONS ?? homeRegion).split(",").filter(Boolean),
    ...(deferralQueueUrl ? { deferrals: new SqsDeferralQueue(new SQSClient({}), deferralQueueUrl) } : {}),
  };
}

export const deployedEngineDeps = once(() => buildDeployedEngineDeps());
