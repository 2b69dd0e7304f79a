import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { acknowledge, DynamoDbLogStore, type AcknowledgeDeps } from "@hipaa-remediate/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { once, powertoolsLogger, readSlackSecret, requiredEnv } from "./wiring/runtime";

export interface InteractivityEndpointDeps extends AcknowledgeDeps {
  sqs: SQSClient;
  /** The approvals queue; the approval worker consumes it. */
  queueUrl: string;
}

/**
 * Slack's interactivity endpoint (API Gateway HTTP API). It only verifies, parses and enqueues, so it answers
 * within Slack's three-second window; the approval worker does the work.
 */
export function createSlackInteractivityHandler(getDeps: () => Promise<InteractivityEndpointDeps>) {
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const deps = await getDeps();
    // The signature covers the exact bytes Slack sent; API Gateway may hand them over base64-encoded.
    const body = event.body ?? "";
    const rawBody = event.isBase64Encoded ? Buffer.from(body, "base64").toString("utf8") : body;
    const ack = await acknowledge({ rawBody, headers: event.headers }, deps);
    if (ack.work) {
      await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.queueUrl, MessageBody: JSON.stringify(ack.work) }));
    }
    return { statusCode: ack.status, headers: { "content-type": ack.contentType }, body: ack.body };
  };
}

async function deployedInteractivityDeps(): Promise<InteractivityEndpointDeps> {
  return {
    signingSecret: await readSlackSecret("SLACK_SIGNING_SECRET"),
    now: () => new Date(),
    log: new DynamoDbLogStore({ client: new DynamoDBClient({}), tableName: requiredEnv("LOG_TABLE") }),
    logger: powertoolsLogger("hipaa-remediate-slack-interactivity"),
    sqs: new SQSClient({}),
    queueUrl: requiredEnv("APPROVALS_QUEUE_URL"),
  };
}

export const handler = createSlackInteractivityHandler(once(deployedInteractivityDeps));
