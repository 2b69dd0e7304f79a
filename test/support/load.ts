import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import {
  CreateBucketCommand,
  DeleteBucketEncryptionCommand,
  PutBucketEncryptionCommand,
  PutBucketTaggingCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { verifyChain, type EngineDeps, type LogEntry, type Stage } from "@hipaa-remediate/core";
import { createEngineHandler } from "../../packages/functions/src/engine";
import { MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_FACTOR } from "../../stacks/lib/queues";
import { ENGINE_TIMEOUT } from "../../stacks/lib/timeouts";
import { assumedRoleIdentity, cloudTrailRecord } from "./cloudtrail";
import { deployedContainer, prepareDeployedEngine } from "./deployed-engine";
import { MOTO_REGION, type Moto } from "./moto";
import { Pipeline, type QueueRef } from "./pipeline";
import { pumpQueue } from "./sqs-lambda";

/**
 * A load of CloudTrail records as an account produces them, for the engine's load test and the `load` bench case.
 * Every record matches an EventBridge rule of the engine, so each one travels PutEvents -> rule -> SQS -> handler;
 * what the engine then does with it, and so which log entry ends its handling (its terminal stage), depends on
 * its class:
 *
 * - `failed-call` (40%): the call was denied (`errorCode` set), so it changed nothing. One `ignored` entry, which is
 *   both the record of its receipt and its terminal entry: nothing is examined, so there is no `received` entry.
 * - `engine-change` (20%): made by the engine's own role; the loop guard logs one `ignored` entry, as above.
 * - `compliant` (the rest but the violations): a change to a PHI bucket that is encrypted when the engine looks.
 *   `received`, then `no-longer-applies`.
 * - `violation` (1%, at least two): a PHI bucket whose default encryption was removed, fixed in auto mode.
 *   `received`, `finding`, `decision`, `applying`, `applied`, then `verified`, with exactly one `applied`.
 */
export type LoadClass = "failed-call" | "engine-change" | "compliant" | "violation";

export const TERMINAL_STAGE: Record<LoadClass, Stage> = {
  "failed-call": "ignored",
  "engine-change": "ignored",
  compliant: "no-longer-applies",
  violation: "verified",
};

/** The engine role the load's engine-change records come from; the policy's identity must name it. */
export const LOAD_ENGINE_ROLE = "prod-hipaa-remediate-engine";

/** The policy the load runs under: the encryption control fixes in auto mode, without hitting the rate limit. */
export function loadPolicyYaml(events: number): string {
  return `controls:\n  s3-bucket-default-encryption:\n    mode: auto\nrateLimit:\n  maxAutoFixes: ${Math.max(100, events)}\n`;
}

export interface LoadRecord {
  eventId: string;
  kind: LoadClass;
  record: Record<string, unknown>;
}

const COMPLIANT_BUCKETS = 20;
const PHI_TAGS = [{ Key: "DataClassification", Value: "PHI" }];

/** Creates the buckets the load points at and returns its records, classes interleaved as they would arrive. */
export async function arrangeLoad(s3: S3Client, events: number): Promise<LoadRecord[]> {
  const suffix = randomUUID().slice(0, 8);
  const violations = Math.max(2, Math.floor(events / 100));
  const compliant = Array.from({ length: COMPLIANT_BUCKETS }, (_, i) => `load-ok-${suffix}-${i}`);
  const broken = Array.from({ length: violations }, (_, i) => `load-fix-${suffix}-${i}`);
  for (let start = 0; start < compliant.length + broken.length; start += 8) {
    await Promise.all(
      [...compliant, ...broken].slice(start, start + 8).map((bucket) => createPhiBucket(s3, bucket, !bucket.startsWith("load-fix-"))),
    );
  }

  const records: LoadRecord[] = [];
  const pick = (i: number) => compliant[i % compliant.length] ?? "";
  for (let i = 0; records.length < events - violations; i += 1) {
    const slot = i % 10;
    const kind: LoadClass = slot < 4 ? "failed-call" : slot < 6 ? "engine-change" : "compliant";
    records.push(loadRecord(kind, pick(i)));
  }
  // Spread the violations through the load rather than bunching them at the end.
  broken.forEach((bucket, i) =>
    records.splice(Math.floor(((i + 0.5) * records.length) / broken.length), 0, loadRecord("violation", bucket)),
  );
  return records;
}

/** A bucket tagged PHI, with SSE-S3 default encryption, or with it removed (as DeleteBucketEncryption leaves it). */
export async function createPhiBucket(s3: S3Client, bucket: string, encrypted: boolean): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: PHI_TAGS } }));
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
    }),
  );
  if (!encrypted) await s3.send(new DeleteBucketEncryptionCommand({ Bucket: bucket }));
}

function loadRecord(kind: LoadClass, bucket: string): LoadRecord {
  const eventId = randomUUID();
  const name = kind === "violation" ? "DeleteBucketEncryption" : "PutBucketEncryption";
  const record = cloudTrailRecord({
    eventID: eventId,
    eventSource: "s3.amazonaws.com",
    eventName: name,
    requestParameters: { bucketName: bucket, Host: `${bucket}.s3.amazonaws.com` },
    ...(kind === "failed-call" ? { errorCode: "AccessDenied", errorMessage: "Access Denied" } : {}),
    ...(kind === "engine-change" ? { userIdentity: assumedRoleIdentity(LOAD_ENGINE_ROLE, "engine") } : {}),
  });
  return { eventId, kind, record };
}

export interface ConsumeResult {
  invocations: number;
  succeeded: number;
  failed: number;
}

/**
 * Several engine containers, each with its own deps, polling the queue at once as Lambda's event source mapping
 * does, until the queue holds nothing visible or in flight and `done()` says nothing more is coming.
 */
export async function consumeConcurrently(
  sqs: SQSClient,
  queue: QueueRef,
  containers: EngineDeps[],
  done: () => boolean,
): Promise<ConsumeResult> {
  const totals: ConsumeResult = { invocations: 0, succeeded: 0, failed: 0 };
  await Promise.all(
    containers.map(async (deps) => {
      const handler = createEngineHandler(async () => deps);
      for (;;) {
        const stats = await pumpQueue(sqs, queue, handler, { maxRounds: Number.MAX_SAFE_INTEGER });
        totals.invocations += stats.invocations;
        totals.succeeded += stats.succeeded;
        totals.failed += stats.failed;
        if (done() && (await queueDepth(sqs, queue)) === 0) return;
        await delay(50);
      }
    }),
  );
  return totals;
}

/** Messages visible plus in flight (received, not yet deleted). */
export async function queueDepth(sqs: SQSClient, queue: QueueRef): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

export interface LoadAudit {
  entries: number;
  chain: Awaited<ReturnType<typeof verifyChain>>;
  /** One line per event whose log entries are not what its class leads to; empty when all are. */
  problems: string[];
  /**
   * One line per attempt that failed before it changed anything and was then retried by SQS to the end, with the
   * failure's reason: on a busy emulator a read can fail every SDK retry, and the design's answer is a `failed`
   * entry and a redelivery. Listed, so that a run shows how often it happened and why.
   */
  retriedAttempts: string[];
}

/**
 * Holds the log against the load: the chain verifies, and every event has the entries its class leads to. An
 * event's entries may start with attempts that ended in `failed` before any fix began (no `applying`); the attempt
 * after them must then be complete, so a failure that lost an event, or a fix applied twice, still shows.
 */
export async function auditLoad(records: LoadRecord[], entries: LogEntry[]): Promise<LoadAudit> {
  const chain = await verifyChain(entries);
  const byEvent = new Map<string, LogEntry[]>();
  for (const entry of entries) {
    if (entry.eventId === undefined) continue;
    byEvent.set(entry.eventId, [...(byEvent.get(entry.eventId) ?? []), entry]);
  }
  const problems: string[] = [];
  const retriedAttempts: string[] = [];
  for (const { eventId, kind } of records) {
    const expected = expectedStages(kind);
    const attempts = splitAttempts(byEvent.get(eventId) ?? []);
    const last = attempts.pop() ?? [];
    const earlierAreHarmless = attempts.every(
      (attempt) => attempt.at(-1)?.stage === "failed" && !attempt.some((entry) => entry.stage === "applying"),
    );
    if (earlierAreHarmless && stagesOf(last) === expected.join(" -> ")) {
      for (const attempt of attempts) retriedAttempts.push(`${kind} ${eventId}: ${stagesOf(attempt)}; ${failureText(attempt.at(-1))}`);
      continue;
    }
    const all = [...attempts.flat(), ...last];
    const failures = all.filter((entry) => entry.stage === "failed").map(failureText);
    problems.push(
      `${kind} ${eventId}: ${stagesOf(all) || "no entry"} (expected ${expected.join(" -> ")})` +
        (failures.length > 0 ? `; failed: ${failures.join("; ")}` : ""),
    );
  }
  return { entries: entries.length, chain, problems, retriedAttempts };
}

/** An event's entries cut after each `failed` entry: one slice per attempt that ended in failure, then the rest. */
function splitAttempts(entries: LogEntry[]): LogEntry[][] {
  const attempts: LogEntry[][] = [[]];
  for (const entry of entries) {
    attempts.at(-1)?.push(entry);
    if (entry.stage === "failed") attempts.push([]);
  }
  return attempts;
}

function stagesOf(entries: LogEntry[]): string {
  return entries.map((entry) => entry.stage).join(" -> ");
}

/** A failed entry's reason and error, so that a line says why without a second look at the log. */
function failureText(entry: LogEntry | undefined): string {
  return `${entry?.reason ?? "no reason"} ${JSON.stringify(entry?.error ?? {})}`;
}

/** Every entry an event of the class leaves, in order; a redelivery would add an entry and show here. */
function expectedStages(kind: LoadClass): Stage[] {
  switch (kind) {
    case "failed-call":
    case "engine-change":
      return [TERMINAL_STAGE[kind]];
    case "compliant":
      return ["received", TERMINAL_STAGE[kind]];
    case "violation":
      return ["received", "finding", "decision", "applying", "applied", TERMINAL_STAGE[kind]];
  }
}

export interface LoadRun {
  events: number;
  consumers: number;
  /** From the first PutEvents until the queue was drained. */
  seconds: number;
  publishCalls: number;
  consumed: ConsumeResult;
  audit: LoadAudit;
  /** Messages left in the main queue and in its dead-letter queue afterwards. */
  queueDepth: number;
  deadLetters: number;
  /** The consumers' DynamoDB calls, summed, by table (`log`, `idempotency`, ...) then command. */
  dynamoDbCalls: Record<string, Record<string, number>>;
}

/**
 * The whole load on the emulator: the deployed tables and wiring, the engine's EventBridge rules and queue (with
 * its DLQ), `events` records published while `consumers` containers consume them, then the audit of the log.
 */
export async function runLoad(moto: Moto, options: { events: number; consumers: number }): Promise<LoadRun> {
  const prefix = `load-${randomUUID().slice(0, 8)}`;
  await prepareDeployedEngine(moto.endpoint, prefix, loadPolicyYaml(options.events));
  const containers = await Promise.all(Array.from({ length: options.consumers }, () => deployedContainer(moto.endpoint)));
  const [first] = containers;
  if (!first) throw new RangeError("the load needs at least one consumer");
  // The engine queue as the stacks define it: a message in flight stays hidden for six engine timeouts.
  const pipeline = await Pipeline.create(moto, {
    engineDeps: first.deps,
    maxReceiveCount: MAX_RECEIVE_COUNT,
    visibilityTimeoutSeconds: ENGINE_TIMEOUT.toSeconds() * VISIBILITY_TIMEOUT_FACTOR,
  });
  try {
    const records = await arrangeLoad(await moto.clients.s3(MOTO_REGION), options.events);
    for (const { calls } of containers) calls.reset();
    let published = false;
    const started = performance.now();
    // Lambda's pollers retry a failed receive; so do these, so that a busy moment of the emulator loses nothing.
    const pollers = new SQSClient({ ...moto.config, maxAttempts: 5 });
    const publishing = publishPaced(
      pipeline,
      records.map(({ record }) => record),
      () => queueDepth(pollers, pipeline.queue),
    ).finally(() => {
      published = true;
    });
    const [publishCalls, consumed] = await Promise.all([
      publishing,
      consumeConcurrently(
        pollers,
        pipeline.queue,
        containers.map(({ deps }) => deps),
        () => published,
      ),
    ]);
    pollers.destroy();
    const seconds = (performance.now() - started) / 1000;
    const entries: LogEntry[] = [];
    for await (const entry of first.deps.log.read()) entries.push(entry);
    return {
      events: options.events,
      consumers: options.consumers,
      seconds,
      publishCalls,
      consumed,
      audit: await auditLoad(records, entries),
      queueDepth: await queueDepth(pipeline.sqs, pipeline.queue),
      deadLetters: await queueDepth(pipeline.sqs, pipeline.dlq),
      dynamoDbCalls: sumCalls(
        containers.map(({ calls }) => calls.byTable()),
        `${prefix}-`,
      ),
    };
  } finally {
    await pipeline.dispose();
    for (const { dynamodb } of containers) dynamodb.destroy();
  }
}

/**
 * At most this many events wait in the engine's queue: the publisher holds back while the backlog is larger. A
 * trail delivers events as they happen, not ten thousand at once; and moto's ReceiveMessage and DeleteMessage walk
 * every message in the queue, so a backlog of thousands would time the emulator's queue scan, not the engine.
 */
export const LOAD_MAX_BACKLOG = 400;
const PUBLISH_BATCH = 100;

/** Publishes the records a hundred at a time, each time the queue's backlog is at most LOAD_MAX_BACKLOG. */
async function publishPaced(pipeline: Pipeline, records: Record<string, unknown>[], backlog: () => Promise<number>): Promise<number> {
  let calls = 0;
  for (let start = 0; start < records.length; start += PUBLISH_BATCH) {
    while ((await backlog()) > LOAD_MAX_BACKLOG) await delay(100);
    calls += await pipeline.publishMany(records.slice(start, start + PUBLISH_BATCH));
  }
  return calls;
}

function sumCalls(counts: Record<string, Record<string, number>>[], tablePrefix: string): Record<string, Record<string, number>> {
  const sum: Record<string, Record<string, number>> = {};
  for (const byTable of counts) {
    for (const [table, commands] of Object.entries(byTable)) {
      const forTable = (sum[table.replace(tablePrefix, "")] ??= {});
      for (const [command, n] of Object.entries(commands)) forTable[command] = (forTable[command] ?? 0) + n;
    }
  }
  return sum;
}
