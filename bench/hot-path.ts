import { randomUUID } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { DeleteMessageCommand, ReceiveMessageCommand, type Message } from "@aws-sdk/client-sqs";
import type { EngineDeps } from "@hipaa-remediate/core";
import { createEngineHandler } from "../packages/functions/src/engine";
import { cloudTrailRecord } from "../test/support/cloudtrail";
import { deployedContainer, prepareDeployedEngine } from "../test/support/deployed-engine";
import { createPhiBucket } from "../test/support/load";
import { MOTO_REGION } from "../test/support/moto";
import { startMotoServer } from "../test/support/moto-server";
import { Pipeline } from "../test/support/pipeline";
import { lambdaSqsRecord } from "../test/support/sqs-lambda";
import { benchMoto } from "./emulator";

/**
 * One DeleteBucketEncryption event fixed in auto mode, timed from PutEvents until the engine handler has logged
 * `verified`, through the engine's EventBridge rule and queue on the emulator. The same events go to the deployed
 * wiring (DynamoDB log, idempotency, rate-limit and exemption tables) and to the local one (SQLite), alternately,
 * so that a busy moment of the machine weighs on both. Also counts the deployed engine's DynamoDB calls per event.
 */

export interface Latency {
  p50Ms: number;
  p95Ms: number;
}

export interface HotPathResult {
  samples: number;
  sqlite: Latency;
  deployed: Latency;
  /** deployed p50 / SQLite p50 (target at most 1.5). */
  ratio: number;
  /** The deployed engine's DynamoDB calls for the last event, by table then command. */
  dynamoDbCalls: Record<string, Record<string, number>>;
  dynamoDbCallsTotal: number;
}

const WARM_UP = 3;
const POLICY = { controls: { "s3-bucket-default-encryption": { mode: "auto" } }, rateLimit: { maxAutoFixes: 10_000 } };
const POLICY_YAML = "controls:\n  s3-bucket-default-encryption:\n    mode: auto\nrateLimit:\n  maxAutoFixes: 10000\n";

export async function benchHotPath(options: { samples: number; log(line: string): void }): Promise<HotPathResult> {
  const server = await startMotoServer();
  try {
    const moto = benchMoto(server.endpoint);
    await prepareDeployedEngine(moto.endpoint, "bench-hot-path", POLICY_YAML);
    const container = await deployedContainer(moto.endpoint);
    // One set of rules and one queue; each event is handled by one wiring or the other.
    const pipeline = await Pipeline.create(moto, { policy: POLICY });
    const s3 = await moto.clients.s3(MOTO_REGION);
    const timings = { sqlite: [] as number[], deployed: [] as number[] };
    let dynamoDbCalls: Record<string, Record<string, number>> = {};
    try {
      options.log(`hot-path: ${options.samples} auto-fixed events per wiring (after ${WARM_UP} warm-up events each) ...`);
      for (let sample = 0; sample < WARM_UP + options.samples; sample += 1) {
        for (const wiring of sample % 2 === 0 ? (["sqlite", "deployed"] as const) : (["deployed", "sqlite"] as const)) {
          const deps = wiring === "sqlite" ? pipeline.deps : container.deps;
          container.calls.reset();
          const ms = await putEventsToVerified(pipeline, deps, s3, () => {
            // Only the engine's own calls: a copy taken before the check below reads the log back through the same
            // client (the counter's live object would count that read too).
            if (wiring === "deployed") dynamoDbCalls = structuredClone(container.calls.byTable());
          });
          if (sample >= WARM_UP) timings[wiring].push(ms);
        }
      }
    } finally {
      await pipeline.dispose();
      container.dynamodb.destroy();
    }
    const sqlite = latency(timings.sqlite);
    const deployed = latency(timings.deployed);
    return {
      samples: options.samples,
      sqlite,
      deployed,
      ratio: deployed.p50Ms / sqlite.p50Ms,
      dynamoDbCalls,
      dynamoDbCallsTotal: Object.values(dynamoDbCalls).reduce(
        (sum, commands) => sum + Object.values(commands).reduce((a, b) => a + b, 0),
        0,
      ),
    };
  } finally {
    await server.stop();
  }
}

/** Arranges a violation (untimed), then times PutEvents -> rule -> queue -> handler -> `verified` in the log. */
async function putEventsToVerified(pipeline: Pipeline, deps: EngineDeps, s3: S3Client, handled: () => void): Promise<number> {
  const bucket = `bench-hot-${randomUUID().slice(0, 8)}`;
  await createPhiBucket(s3, bucket, false);
  const record = cloudTrailRecord({
    eventSource: "s3.amazonaws.com",
    eventName: "DeleteBucketEncryption",
    requestParameters: { bucketName: bucket, Host: `${bucket}.s3.amazonaws.com` },
  });
  const handler = createEngineHandler(async () => deps);

  const started = performance.now();
  await pipeline.publish(record);
  const message = await receiveOne(pipeline);
  const response = await handler({ Records: [lambdaSqsRecord(message, pipeline.queue.arn)] });
  await pipeline.sqs.send(new DeleteMessageCommand({ QueueUrl: pipeline.queue.url, ReceiptHandle: message.ReceiptHandle ?? "" }));
  const elapsed = performance.now() - started;
  handled();

  const stages = (await deps.log.byEvent(String(record.eventID))).map((entry) => entry.stage);
  if (response.batchItemFailures.length > 0 || stages.at(-1) !== "verified") {
    throw new Error(`hot-path: event on ${bucket} was not fixed: stages ${stages.join(" -> ") || "none"}`);
  }
  return elapsed;
}

async function receiveOne(pipeline: Pipeline): Promise<Message> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const { Messages = [] } = await pipeline.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: pipeline.queue.url, MaxNumberOfMessages: 1, MessageSystemAttributeNames: ["All"] }),
    );
    const [message] = Messages;
    if (message) return message;
  }
  throw new Error("hot-path: the event never reached the engine's queue");
}

function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
  return { p50Ms: at(0.5), p95Ms: at(0.95) };
}

export function printHotPath(result: HotPathResult): void {
  console.log(`\nhot path: PutEvents to verified for one auto-fixed DeleteBucketEncryption, ${result.samples} events per wiring`);
  console.log(`  SQLite stores      p50 ${result.sqlite.p50Ms.toFixed(0)} ms  p95 ${result.sqlite.p95Ms.toFixed(0)} ms`);
  console.log(`  DynamoDB stores    p50 ${result.deployed.p50Ms.toFixed(0)} ms  p95 ${result.deployed.p95Ms.toFixed(0)} ms`);
  console.log(`  deployed/SQLite p50 ratio: ${result.ratio.toFixed(2)}x (target at most 1.5x)`);
  const calls = Object.entries(result.dynamoDbCalls)
    .map(
      ([table, commands]) =>
        `${table.replace(/^bench-hot-path-/, "")}: ${Object.entries(commands)
          .map(([command, n]) => `${command} ${n}`)
          .join(", ")}`,
    )
    .join("; ");
  console.log(`  DynamoDB calls per event (warm container): ${result.dynamoDbCallsTotal} (${calls})`);
}
