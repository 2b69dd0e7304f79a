import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  ApproverDirectory,
  DynamoDbExemptionStore,
  DynamoDbLogStore,
  DynamoDbProposalStore,
  createLogTable,
  silentLogger,
  type ApprovalDeps,
} from "@hipaa-remediate/core";
import {
  createApprovalWorker,
  InvalidApprovalMessageError,
  parseApprovalMessage,
} from "../../../packages/functions/src/approval-worker";
import { createSlackInteractivityHandler } from "../../../packages/functions/src/slack-interactivity";
import { httpApiEvent } from "../../support/api-gateway";
import { collect } from "../../support/log-drafts";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { pumpQueue } from "../../support/sqs-lambda";
import { useSlackRecorder } from "../../support/slack-recorder";
import { buttonClickPayload, signInteraction, TEST_SIGNING_SECRET } from "../../support/slack-signing";
import {
  APPROVER,
  CONTROL,
  bucketEncryption,
  createExemptionsTable,
  createProposalsTable,
  createUnencryptedBucket,
  s3EncryptionExecutor,
  sampleProposal,
} from "./fixtures";

const moto = useMoto();
const slackRecorder = useSlackRecorder();
const s3 = moto.clients.s3(MOTO_REGION);
const now = new Date("2025-03-01T12:00:00Z");

let sqs: SQSClient;
let dynamodb: DynamoDBClient;
let queue: { url: string; arn: string };
let deps: ApprovalDeps;
let proposals: DynamoDbProposalStore;
let log: DynamoDbLogStore;
const execute = vi.fn(s3EncryptionExecutor(s3));

beforeAll(async () => {
  sqs = new SQSClient(moto.config);
  dynamodb = new DynamoDBClient(moto.config);
  const created = await sqs.send(new CreateQueueCommand({ QueueName: "approvals" }));
  const url = created.QueueUrl ?? "";
  const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  queue = { url, arn: attributes.Attributes?.QueueArn ?? "" };
  await createProposalsTable(dynamodb, "proposals");
  await createExemptionsTable(dynamodb, "exemptions");
  await createLogTable(dynamodb, "log");
  proposals = new DynamoDbProposalStore(dynamodb, "proposals");
  log = new DynamoDbLogStore({ client: dynamodb, tableName: "log" });
  const slack = slackRecorder().client();
  deps = {
    proposals,
    log,
    slack,
    approvers: new ApproverDirectory({ users: [APPROVER.id], userGroups: [] }, { slack, now: () => now }),
    now: () => now,
    execute,
    exemptions: new DynamoDbExemptionStore(dynamodb, "exemptions"),
    logger: silentLogger,
    describeControl: (id) => (id === CONTROL.id ? CONTROL : undefined),
  };
});
afterAll(async () => {
  sqs.destroy();
  dynamodb.destroy();
});

const endpoint = createSlackInteractivityHandler(async () => ({
  signingSecret: TEST_SIGNING_SECRET,
  now: () => now,
  log,
  logger: silentLogger,
  sqs,
  queueUrl: queue.url,
}));
const worker = createApprovalWorker(async () => deps);

describe("Slack interactivity through the Lambda handlers", () => {
  it("acknowledges a base64 click, queues it, and the worker applies the approved fix", async () => {
    await createUnencryptedBucket(s3, "phi-lambda-approve");
    const proposal = sampleProposal("phi-lambda-approve", now);
    await proposals.create(proposal);

    const click = signInteraction(buttonClickPayload(proposal, "approve", { user: APPROVER }), { timestamp: now });
    const response = await endpoint(httpApiEvent(click, now));
    expect(response).toEqual({ statusCode: 200, headers: { "content-type": "text/plain" }, body: "" });
    expect(execute).not.toHaveBeenCalled();

    expect(await pumpQueue(sqs, queue, worker)).toEqual({ invocations: 1, succeeded: 1, failed: 0 });
    expect(execute).toHaveBeenCalledTimes(1);
    expect(await bucketEncryption(s3, "phi-lambda-approve")).toBe("AES256");
    expect(await proposals.get(proposal.id)).toMatchObject({ status: "applied", decidedBy: { id: APPROVER.id, via: "slack" } });
    expect((await collect(log.read())).map((entry) => entry.stage)).toContain("approved");
    expect(slackRecorder().callsTo("chat.update").at(-1)?.args.text).toBe(":white_check_mark: Approved by *dana*. The fix was applied and verified.");
  });

  it("answers a forged request with 401 and queues nothing", async () => {
    const proposal = sampleProposal("phi-lambda-forged", now);
    await proposals.create(proposal);
    const forged = signInteraction(buttonClickPayload(proposal, "approve", { user: APPROVER }), { timestamp: now, secret: "guess" });
    const response = await endpoint(httpApiEvent(forged, now));
    expect(response.statusCode).toBe(401);
    expect(await pumpQueue(sqs, queue, worker)).toEqual({ invocations: 0, succeeded: 0, failed: 0 });
    expect((await proposals.get(proposal.id))?.status).toBe("pending");
  });

  it("reports a queue message that is not a verified action as a failed record, naming it", async () => {
    const body = JSON.stringify({ kind: "approve", proposalId: "prop-x" });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body }));
    expect(await pumpQueue(sqs, queue, worker, { maxRounds: 1 })).toEqual({ invocations: 1, succeeded: 0, failed: 1 });
    expect(() => parseApprovalMessage({ messageId: "m-1", body })).toThrow(
      new InvalidApprovalMessageError("SQS message m-1: body.planHash: Invalid input: expected string, received undefined"),
    );
  });
});
