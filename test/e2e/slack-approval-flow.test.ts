import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  approvalDepsFromEngine,
  isJsonObject,
  openDatabase,
  silentLogger,
  SlackNotifier,
  SqliteExemptionStore,
  verifyChain,
  type EngineDeps,
  type JsonValue,
  type Proposal,
  type ResourceRef,
  type SqliteDatabase,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApprovalWorker } from "../../packages/functions/src/approval-worker";
import { createSlackInteractivityHandler } from "../../packages/functions/src/slack-interactivity";
import { startApprovalsServer } from "../../packages/cli/src/local/approvals-server";
import { scenario as s3DefaultEncryption } from "../integration/controls/scenarios/s3-bucket-default-encryption";
import { httpApiEvent } from "../support/api-gateway";
import { useMoto } from "../support/moto";
import { Pipeline, type QueueRef } from "../support/pipeline";
import { useSlackRecorder } from "../support/slack-recorder";
import { buttonClickPayload, signInteraction, TEST_SIGNING_SECRET, type SignedSlackRequest } from "../support/slack-signing";
import { pumpQueue } from "../support/sqs-lambda";

const moto = useMoto();
const slack = useSlackRecorder();

const CHANNEL = "C0APPROVALS";
const APPROVER = { id: "U0APPROVER", name: "dana" };
const POLICY = {
  controls: { [s3DefaultEncryption.control]: { mode: "approve" } },
  approvers: { users: [APPROVER.id] },
  slack: { channel: CHANNEL },
};

let sqs: SQSClient;
let exemptionsDb: SqliteDatabase;
let pipeline: Pipeline;
let approvalsQueue: QueueRef;

beforeAll(() => {
  sqs = new SQSClient(moto.config);
  exemptionsDb = openDatabase(":memory:");
});
afterAll(() => {
  sqs.destroy();
  exemptionsDb.close();
});

beforeEach(async () => {
  await moto.reset();
  const notifier = new SlackNotifier(slack().client(), {
    channel: CHANNEL,
    describeControl: (id) => controls.find((control) => control.id === id),
  });
  pipeline = await Pipeline.create(moto, { policy: POLICY, notifier });
  approvalsQueue = await createQueue(`approvals-${Date.now()}`);
});
afterEach(async () => {
  await pipeline.dispose();
});

/** The engine's dependencies plus the exemption store approvals write to. */
function engineWithExemptions(): EngineDeps {
  return { ...pipeline.deps, exemptions: new SqliteExemptionStore(exemptionsDb) };
}

async function createQueue(name: string): Promise<QueueRef> {
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const url = created.QueueUrl ?? "";
  const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  return { url, arn: attributes.Attributes?.QueueArn ?? "" };
}

/** A real violation in moto, its CloudTrail event through EventBridge -> SQS -> engine handler, and the proposal. */
async function proposeThroughPipeline(): Promise<{ proposal: Proposal; resource: ResourceRef }> {
  const { record, resource } = await s3DefaultEncryption.arrangeViolation(moto);
  await pipeline.publish(record);
  expect(await pipeline.pump()).toMatchObject({ succeeded: 1, failed: 0 });
  const proposal = (await pipeline.deps.proposals.listByStatus("pending")).find((p) => p.finding.resource.arn === resource.arn);
  if (!proposal) throw new Error(`the engine stored no proposal for ${resource.arn}`);
  return { proposal, resource };
}

/** The deployed approval path: the interactivity function enqueues, the approval worker Lambda decides. */
async function clickThroughLambdas(proposal: Proposal, user = APPROVER): Promise<void> {
  const approvalDeps = approvalDepsFromEngine(engineWithExemptions(), { slack: slack().client() });
  const endpoint = createSlackInteractivityHandler(async () => ({
    ...approvalDeps,
    signingSecret: TEST_SIGNING_SECRET,
    now: () => new Date(),
    logger: silentLogger,
    sqs,
    queueUrl: approvalsQueue.url,
  }));
  const worker = createApprovalWorker(async () => approvalDeps);
  const click = signInteraction(buttonClickPayload(proposal, "approve", { user }), { timestamp: new Date() });
  expect(await endpoint(httpApiEvent(click))).toEqual({ statusCode: 200, headers: { "content-type": "text/plain" }, body: "" });
  expect(await pumpQueue(sqs, approvalsQueue, worker)).toEqual({ invocations: 1, succeeded: 1, failed: 0 });
}

async function stagesFor(proposalId: string): Promise<string[]> {
  return (await pipeline.log()).filter((e) => e.proposalId === proposalId).map((e) => e.stage);
}

/** Every button value in a posted message's blocks. */
function buttonValues(blocks: JsonValue | undefined): JsonValue[] {
  if (!Array.isArray(blocks)) return [];
  return blocks.flatMap((block) =>
    isJsonObject(block) && Array.isArray(block.elements)
      ? block.elements.flatMap((element) =>
          isJsonObject(element) && typeof element.value === "string" ? [JSON.parse(element.value) as JsonValue] : [],
        )
      : [],
  );
}

describe("Slack approval, end to end on moto with the real Slack client against the recorder", () => {
  it("posts the proposal, and a signed Approve from an allowed approver applies, verifies and updates the message", async () => {
    const { proposal, resource } = await proposeThroughPipeline();

    const [posted, ...more] = slack().callsTo("chat.postMessage");
    expect(more).toEqual([]);
    expect(posted?.args.channel).toBe(CHANNEL);
    expect(posted?.token).toBe("xoxb-test-token");
    const values = buttonValues(posted?.args.blocks);
    expect(values).toHaveLength(3);
    // The buttons carry the proposal id and the plan hash, never the plan.
    for (const value of values) expect(value).toEqual({ p: proposal.id, h: proposal.planHash });
    expect(proposal.slack).toEqual({ channel: CHANNEL, ts: expect.any(String) });
    await s3DefaultEncryption.assertUnchanged(moto, resource);

    await clickThroughLambdas(proposal);

    await s3DefaultEncryption.assertFixed(moto, resource);
    expect((await pipeline.deps.proposals.get(proposal.id))?.status).toBe("applied");
    const update = slack().callsTo("chat.update").at(-1);
    expect(update?.args).toMatchObject({ channel: CHANNEL, ts: proposal.slack?.ts });
    expect(update?.args.text).toBe(":white_check_mark: Approved by *dana*. The fix was applied and verified.");

    expect(await stagesFor(proposal.id)).toEqual(["proposed", "approved", "applied", "verified"]);
    const approved = (await pipeline.log()).find((e) => e.proposalId === proposal.id && e.stage === "approved");
    expect(approved?.decidedBy).toEqual({ id: APPROVER.id, name: APPROVER.name, via: "slack" });
    expect((await verifyChain(pipeline.deps.log.read())).ok).toBe(true);
  });

  it("an approval after the resource drifted back to compliant ends as no longer applies, and says so", async () => {
    const { proposal, resource } = await proposeThroughPipeline();
    await s3DefaultEncryption.makeCompliant(moto, resource);

    await clickThroughLambdas(proposal);

    expect((await pipeline.deps.proposals.get(proposal.id))?.status).toBe("no-longer-applies");
    expect(await stagesFor(proposal.id)).toEqual(["proposed", "approved", "no-longer-applies"]);
    expect(slack().callsTo("chat.update").at(-1)?.args.text).toMatch(
      /^:information_source: Approved by \*dana\*, but the fix no longer applies: .+ Nothing was changed\.$/,
    );
    await s3DefaultEncryption.assertFixed(moto, resource);
  });

  it("the local runner's /slack/interactivity takes the same click in-process and refuses a forged one", async () => {
    const { proposal, resource } = await proposeThroughPipeline();
    const server = await startApprovalsServer({
      engine: engineWithExemptions(),
      operator: { id: "local", name: "local" },
      slack: slack().client(),
      slackSigningSecret: TEST_SIGNING_SECRET,
      housekeepingIntervalMs: 0,
    });
    try {
      const post = (request: SignedSlackRequest) =>
        fetch(`${server.url}/slack/interactivity`, { method: "POST", headers: request.headers, body: request.rawBody });
      const payload = buttonClickPayload(proposal, "approve", { user: APPROVER });

      const forged = await post(signInteraction(payload, { timestamp: new Date(), secret: "not-the-secret" }));
      expect(forged.status).toBe(401);
      await server.idle();
      expect((await pipeline.deps.proposals.get(proposal.id))?.status).toBe("pending");
      // Counted where the operator can see it, not in the audit log (see the end of this test).
      const metrics = await fetch(`${server.url}/api/metrics`, {
        headers: { authorization: `Bearer ${server.token}`, host: new URL(server.url).host },
      });
      expect(await metrics.json()).toEqual({ unauthenticatedRequests: { "slack-signature": 1, "serve-token": 0 } });

      const genuine = await post(signInteraction(payload, { timestamp: new Date() }));
      expect(genuine.status).toBe(200);
      expect(await genuine.text()).toBe("");
      await server.idle();
    } finally {
      await server.close();
    }

    await s3DefaultEncryption.assertFixed(moto, resource);
    expect(await stagesFor(proposal.id)).toEqual(["proposed", "approved", "applied", "verified"]);
    expect(slack().callsTo("chat.update").at(-1)?.args.text).toBe(
      ":white_check_mark: Approved by *dana*. The fix was applied and verified.",
    );
    // An unauthenticated request must not grow a log nobody can shorten.
    expect((await pipeline.log()).filter((e) => e.source === "slack-interactivity")).toEqual([]);
  });
});
