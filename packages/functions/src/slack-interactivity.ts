import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  acknowledge,
  ApproverDirectory,
  DynamoDbLogStore,
  DynamoDbProposalStore,
  describeFromContext,
  emfMetricLine,
  loadSlackContext,
  openExemptionForm,
  UnauthenticatedRequests,
  type AcknowledgeDeps,
  type ExemptionFormDeps,
} from "@hipaa-remediate/core";
import { WebClient } from "@slack/web-api";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { once, powertoolsLogger, readSlackSecret, requiredEnv } from "./wiring/runtime";

export interface InteractivityEndpointDeps extends AcknowledgeDeps, ExemptionFormDeps {
  sqs: SQSClient;
  /** The approvals queue; the approval worker consumes it. */
  queueUrl: string;
}

/**
 * Slack's interactivity endpoint (API Gateway HTTP API). It verifies and parses each interaction and queues the
 * work for the approval worker, so it answers within Slack's three-second window. The one exception is a click
 * on Exempt: Slack's trigger_id for the form expires three seconds after the click, too soon for a queue and a
 * worker's cold start, so the form is opened here, before the answer.
 */
export function createSlackInteractivityHandler(getDeps: () => Promise<InteractivityEndpointDeps>) {
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const deps = await getDeps();
    // The signature covers the exact bytes Slack sent; API Gateway may hand them over base64-encoded.
    const body = event.body ?? "";
    const rawBody = event.isBase64Encoded ? Buffer.from(body, "base64").toString("utf8") : body;
    const ack = await acknowledge({ rawBody, headers: event.headers }, deps);
    if (ack.work?.kind === "open-exemption") {
      const result = await openExemptionForm(ack.work, deps);
      deps.logger.info("processed Slack action", { kind: ack.work.kind, proposalId: ack.work.proposalId, result });
    } else if (ack.work) {
      await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.queueUrl, MessageBody: JSON.stringify(ack.work) }));
    }
    return { statusCode: ack.status, headers: { "content-type": ack.contentType }, body: ack.body };
  };
}

async function deployedInteractivityDeps(): Promise<InteractivityEndpointDeps> {
  const dynamodb = new DynamoDBClient({});
  const slack = new WebClient(await readSlackSecret("SLACK_BOT_TOKEN"));
  // The approvers and control names, written at synth from the validated policy: no control registry here.
  const context = await loadSlackContext(requiredEnv("SLACK_CONTEXT_FILE"));
  const now = () => new Date();
  const logger = powertoolsLogger("hipaa-remediate-slack-interactivity");
  return {
    signingSecret: await readSlackSecret("SLACK_SIGNING_SECRET"),
    now,
    log: new DynamoDbLogStore({ client: dynamodb, tableName: requiredEnv("LOG_TABLE") }),
    logger,
    // Forged or unsigned requests: a CloudWatch metric through an EMF line in this function's log, and a warning
    // at most once a minute per container; never an audit-log entry.
    unauthenticated: new UnauthenticatedRequests({
      logger,
      now,
      onRecord: (source) => process.stdout.write(`${emfMetricLine(source, now())}\n`),
    }),
    // Read only: the function's role may GetItem on the proposals table and nothing else there.
    proposals: new DynamoDbProposalStore(dynamodb, requiredEnv("PROPOSALS_TABLE")),
    slack,
    approvers: new ApproverDirectory(context.approvers, { slack, now }),
    describeControl: describeFromContext(context),
    sqs: new SQSClient({}),
    queueUrl: requiredEnv("APPROVALS_QUEUE_URL"),
  };
}

export const handler = createSlackInteractivityHandler(once(deployedInteractivityDeps));
