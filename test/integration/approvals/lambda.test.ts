import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  ApproverDirectory,
  DynamoDbExemptionStore,
  DynamoDbLogStore,
  DynamoDbProposalStore,
  createLogTable,
  isJsonObject,
  silentLogger,
  type ApprovalDeps,
} from "@hipaa-remediate/core";
import { createApprovalWorker, InvalidApprovalMessageError, parseApprovalMessage } from "../../../packages/functions/src/approval-worker";
import { createSlackInteractivityHandler } from "../../../packages/functions/src/slack-interactivity";
import { httpApiEvent } from "../../support/api-gateway";
import { collect } from "../../support/log-drafts";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { pumpQueue } from "../../support/sqs-lambda";
import { useSlackRecorder } from "../../support/slack-recorder";
import { buttonClickPayload, exemptionSubmissionPayload, signInteraction, TEST_SIGNING_SECRET } from "../../support/slack-signing";
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
const s3 = await moto.clients.s3(MOTO_REGION);
const now = new Date("2025-03-01T12:00:00Z");

let sqs: SQSClient;
let dynamodb: DynamoDBClient;
let queue: { url: string; arn: string };
let deps: ApprovalDeps;
let proposals: DynamoDbProposalStore;
let log: DynamoDbLogStore;
let exemptions: DynamoDbExemptionStore;
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
  exemptions = new DynamoDbExemptionStore(dynamodb, "exemptions");
  const slack = slackRecorder().client();
  deps = {
    proposals,
    log,
    slack,
    approvers: new ApproverDirectory({ users: [APPROVER.id], userGroups: [] }, { slack, now: () => now }),
    now: () => now,
    execute,
    exemptions,
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
  // What the deployed role allows on the proposals table: GetItem, nothing that changes a proposal.
  proposals: { get: (id: string) => proposals.get(id) },
  ...(deps.slack ? { slack: deps.slack } : {}),
  approvers: deps.approvers,
  describeControl: deps.describeControl,
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
    expect(slackRecorder().callsTo("chat.update").at(-1)?.args.text).toBe(
      ":white_check_mark: Approved by *dana*. The fix was applied and verified.",
    );
  });

  it("opens the exemption form before answering an Exempt click and queues nothing; the submission goes through the worker", async () => {
    const proposal = sampleProposal("phi-lambda-exempt", now);
    await proposals.create(proposal);

    const click = signInteraction(buttonClickPayload(proposal, "exempt", { user: APPROVER }), { timestamp: now });
    expect(await endpoint(httpApiEvent(click, now))).toEqual({ statusCode: 200, headers: { "content-type": "text/plain" }, body: "" });
    // Slack's trigger_id lives three seconds: the form is open by the time the handler has answered.
    const opened = slackRecorder().callsTo("views.open");
    expect(opened).toHaveLength(1);
    expect(opened[0]?.args).toMatchObject({
      trigger_id: "1234567890.1234567890.abcdef",
      view: { type: "modal", callback_id: "proposal-exemption" },
    });
    const view = opened[0]?.args.view;
    const metadata = isJsonObject(view) ? view.private_metadata : undefined;
    expect(JSON.parse(String(metadata))).toEqual({ p: proposal.id, h: proposal.planHash, m: proposal.slack });
    expect(await pumpQueue(sqs, queue, worker)).toEqual({ invocations: 0, succeeded: 0, failed: 0 });
    expect((await proposals.get(proposal.id))?.status).toBe("pending");

    const reason = "Vendor migration in progress; bucket holds no PHI until April";
    const submission = signInteraction(exemptionSubmissionPayload(proposal, { user: APPROVER, reason }), { timestamp: now });
    expect(await endpoint(httpApiEvent(submission, now))).toEqual({ statusCode: 200, headers: { "content-type": "text/plain" }, body: "" });
    expect((await proposals.get(proposal.id))?.status).toBe("pending");
    expect(await pumpQueue(sqs, queue, worker)).toEqual({ invocations: 1, succeeded: 1, failed: 0 });

    expect((await exemptions.list()).filter((exemption) => exemption.resource === proposal.finding.resource.arn)).toEqual([
      {
        source: "approval",
        resource: proposal.finding.resource.arn,
        controls: [proposal.control],
        reason,
        owner: "dana (Slack U0APPROVER)",
        expires: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
      },
    ]);
    expect(await proposals.get(proposal.id)).toMatchObject({ status: "exempted", decidedBy: { id: APPROVER.id, via: "slack" } });
    expect((await collect(log.read())).filter((entry) => entry.proposalId === proposal.id).map((entry) => entry.stage)).toEqual([
      "exempted",
    ]);
    expect(slackRecorder().callsTo("views.open")).toHaveLength(1);
    expect(execute).not.toHaveBeenCalledWith(expect.objectContaining({ id: proposal.id }), expect.anything());
  });

  const decidedAt = new Date(now.getTime() - 60_000).toISOString();
  it.each([
    ["missing", undefined, "This proposal no longer exists."],
    [
      "decided",
      sampleProposal("phi-lambda-decided", now, {
        status: "rejected",
        decidedBy: { id: "U0SECOND", name: "sam", via: "slack" },
        decidedAt,
      }),
      `Already rejected by sam at ${decidedAt}.`,
    ],
    [
      "expired",
      sampleProposal("phi-lambda-expired", new Date(now.getTime() - 48 * 3_600_000)),
      `This proposal expired at ${new Date(now.getTime() - 24 * 3_600_000).toISOString()}; nothing was changed.`,
    ],
  ])("answers an Exempt click on a %s proposal privately, opening and queueing nothing", async (_case, stored, reply) => {
    const proposal = stored ?? sampleProposal("phi-lambda-missing", now);
    if (stored) await proposals.create(stored);
    const responseUrl = `${slackRecorder().url}/actions/${proposal.id}`;

    const click = signInteraction(buttonClickPayload(proposal, "exempt", { user: APPROVER, responseUrl }), { timestamp: now });
    expect((await endpoint(httpApiEvent(click, now))).statusCode).toBe(200);

    expect(slackRecorder().responses).toEqual([
      { path: `/actions/${proposal.id}`, body: { response_type: "ephemeral", replace_original: false, text: reply } },
    ]);
    expect(slackRecorder().callsTo("views.open")).toEqual([]);
    expect(await pumpQueue(sqs, queue, worker)).toEqual({ invocations: 0, succeeded: 0, failed: 0 });
    expect((await proposals.get(proposal.id))?.status).toBe(stored?.status);
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
