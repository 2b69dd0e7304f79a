import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import {
  InProcessDeferralQueue,
  SqsDeferralQueue,
  silentLogger,
  normaliseRecord,
  openDatabase,
  parseSqsRecord,
  processEvent,
  type ChangeEvent,
  type EngineDeps,
  type LogEntry,
} from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";
import { cloudTrailRecord, eventBridgeEnvelope } from "../../support/cloudtrail";
import { sqliteEngineDeps } from "../../support/engine-deps";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { createTestBucket } from "../../support/s3-buckets";
import { lambdaSqsRecord } from "../../support/sqs-lambda";
import { putBucketTags } from "../controls/scenarios/datastore-classification-tag";

const moto = useMoto();
const CONTROL = "datastore-classification-tag";
const SETTLE_SECONDS = 3;

/** The engine on SQLite, with the deferral queue pointed at a real moto queue and a clock the test moves. */
async function engineWithQueue(clock: { now: Date }): Promise<{ deps: EngineDeps; sqs: SQSClient; queue: { url: string; arn: string } }> {
  const sqs = new SQSClient(moto.config);
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: `engine-${randomUUID().slice(0, 8)}` }))).QueueUrl ?? "";
  const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), "hipaa-deferral-")), "engine.db"));
  const deps = sqliteEngineDeps(db, {
    aws: moto.clients,
    now: () => clock.now,
    policy: { controls: { [CONTROL]: { mode: "dry-run", options: { settleSeconds: SETTLE_SECONDS } } } },
  });
  return { deps: { ...deps, deferrals: new SqsDeferralQueue(sqs, url) }, sqs, queue: { url, arn: attributes.Attributes?.QueueArn ?? "" } };
}

async function createBucketEvent(bucket: string, at: Date): Promise<ChangeEvent> {
  const record = cloudTrailRecord({
    eventSource: "s3.amazonaws.com",
    eventName: "CreateBucket",
    eventTime: at,
    requestParameters: { bucketName: bucket },
  });
  const result = normaliseRecord(eventBridgeEnvelope(record), "test");
  if (result.kind !== "event") throw new Error(`not an event: ${JSON.stringify(result)}`);
  return result.event;
}

async function receive(sqs: SQSClient, url: string, waitSeconds: number): Promise<Message[]> {
  const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }));
  return received.Messages ?? [];
}

/** The re-delivered message, parsed the way the engine handler parses its SQS records. */
function redelivered(message: Message, queueArn: string): ChangeEvent {
  const result = parseSqsRecord(lambdaSqsRecord(message, queueArn));
  if (result.kind !== "event") throw new Error(`re-delivered message was not an event: ${JSON.stringify(result)}`);
  return result.event;
}

const stagesOf = (entries: LogEntry[]) => entries.filter((e) => e.control === CONTROL).map((e) => e.stage);

/** Defers a just-created untagged bucket and returns the re-delivered event, after checking the delay and the log. */
async function deferredCreation(prefix: string) {
  const created = new Date(Date.now() - 1000);
  const clock = { now: new Date(created.getTime() + 1000) };
  const engine = await engineWithQueue(clock);
  const bucket = `${prefix}-${randomUUID().slice(0, 8)}`;
  await createTestBucket(await moto.clients.s3(MOTO_REGION), bucket);
  const event = await createBucketEvent(bucket, created);

  const first = await processEvent(event, engine.deps);
  expect(first.deferred).toBe(1);
  expect(first.findings.filter((f) => f.control === CONTROL)).toEqual([]);
  const deferredEntry = (await engine.deps.log.byEvent(event.id)).find((e) => e.control === CONTROL);
  expect(deferredEntry).toMatchObject({ stage: "deferred", details: { afterSeconds: 2, recheck: 1 } });

  // moto honours DelaySeconds: the message is not visible at once, only after the delay.
  expect(await receive(engine.sqs, engine.queue.url, 0)).toEqual([]);
  const [message] = await receive(engine.sqs, engine.queue.url, 10);
  if (!message) throw new Error("the deferred event never came back");
  const recheck = redelivered(message, engine.queue.arn);
  expect(recheck).toMatchObject({ id: event.id, recheck: 1, name: "CreateBucket", request: event.request, actor: event.actor });
  clock.now = new Date(created.getTime() + 60_000);
  return { engine, bucket, event, recheck };
}

describe("a control's recheck-later through the real queue", () => {
  it("re-checks after the delay and ends as no-longer-applies when the tags landed meanwhile", async () => {
    const { engine, bucket, event, recheck } = await deferredCreation("settling");
    await putBucketTags(await moto.clients.s3(MOTO_REGION), bucket, { DataClassification: "Internal" });

    const second = await processEvent(recheck, engine.deps);
    expect(second).toMatchObject({ noLongerApplies: expect.any(Number), duplicates: 0, deferred: 0 });
    expect(second.findings.filter((f) => f.control === CONTROL)).toEqual([]);
    expect(stagesOf(await engine.deps.log.byEvent(event.id))).toEqual(["deferred", "no-longer-applies"]);

    // A redelivery of the re-check message is still caught by the idempotency guard.
    const again = await processEvent(recheck, engine.deps);
    expect(again.duplicates).toBeGreaterThanOrEqual(1);
    expect(stagesOf(await engine.deps.log.byEvent(event.id))).toEqual(["deferred", "no-longer-applies", "ignored"]);
  });

  it("ends as a finding when no tag lands", async () => {
    const { engine, bucket, event, recheck } = await deferredCreation("unclassified");
    const second = await processEvent(recheck, engine.deps);
    expect(second.findings.filter((f) => f.control === CONTROL)).toMatchObject([
      { resource: expect.stringContaining(bucket), outcome: "would-notify", confirmed: true },
    ]);
    expect(stagesOf(await engine.deps.log.byEvent(event.id))).toEqual(["deferred", "finding", "decision", "would-remediate"]);
  });

  it("locally (replay --live), drains the deferred event at the end once due, and decides", async () => {
    const { deps } = await engineWithQueue({ now: new Date() });
    const local = new InProcessDeferralQueue(silentLogger);
    const realClock = { ...deps, now: () => new Date(), deferrals: local };
    const bucket = `local-${randomUUID().slice(0, 8)}`;
    await createTestBucket(await moto.clients.s3(MOTO_REGION), bucket);
    const event = await createBucketEvent(bucket, new Date(Date.now() - 1000));
    expect((await processEvent(event, realClock)).deferred).toBe(1);
    expect(local.pending).toBe(1);
    const reports: Awaited<ReturnType<typeof processEvent>>[] = [];
    expect(await local.drain(async (due) => reports.push(await processEvent(due, realClock)))).toBe(1);
    expect(reports[0]?.findings.filter((f) => f.control === CONTROL)).toMatchObject([{ outcome: "would-notify" }]);
    expect(stagesOf(await deps.log.byEvent(event.id))).toEqual(["deferred", "finding", "decision", "would-remediate"]);
  });

  it("without a deferral queue, decides at once and says so", async () => {
    const clock = { now: new Date() };
    const { deps } = await engineWithQueue(clock);
    const { deferrals: _none, ...withoutQueue } = deps;
    const bucket = `at-once-${randomUUID().slice(0, 8)}`;
    await createTestBucket(await moto.clients.s3(MOTO_REGION), bucket);
    const event = await createBucketEvent(bucket, clock.now);
    const report = await processEvent(event, withoutQueue);
    expect(report.deferred).toBe(0);
    const finding = (await deps.log.byEvent(event.id)).find((e) => e.control === CONTROL && e.stage === "finding");
    expect(finding?.reason).toMatch(/no deferral queue in this run: decided at once on the current state/);
  });
});
