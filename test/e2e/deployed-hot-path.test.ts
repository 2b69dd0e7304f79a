import { randomUUID } from "node:crypto";
import { verifyChain, type LogEntry } from "@hipaa-remediate/core";
import { beforeAll, describe, expect, it } from "vitest";
import { scenario } from "../integration/controls/scenarios/s3-bucket-default-encryption";
import { createEngineHandler } from "../../packages/functions/src/engine";
import { eventBridgeEnvelope } from "../support/cloudtrail";
import { deployedContainer, prepareDeployedEngine, type DeployedContainer } from "../support/deployed-engine";
import type { DeployedTableNames } from "../support/deployed-tables";
import { useMoto } from "../support/moto";
import { lambdaSqsRecord } from "../support/sqs-lambda";

const moto = useMoto();
const QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:engine";
const AUTO_FIX_STAGES = ["received", "finding", "decision", "applying", "applied", "verified"];
/**
 * The log writes of one auto-fix: everything up to `applying` before the fix, then `applied` with `verified` (verify
 * reads back well within APPLIED_ENTRY_DEADLINE_MS on the emulator).
 */
const AUTO_FIX_WRITES = 2;

/**
 * What the deployed engine costs in DynamoDB for one DeleteBucketEncryption event fixed in auto mode, counted on
 * the real client the engine's stores share. The log's share is the one this suite pins: one conditional PutItem
 * per write (the entries up to `applying` are one item) once the container knows the head, and a single head
 * Query when it does not.
 */
describe("the deployed engine's DynamoDB calls for one auto-fixed event", () => {
  let tables: DeployedTableNames;
  let container: DeployedContainer;

  beforeAll(async () => {
    tables = await prepareDeployedEngine(
      moto.endpoint,
      `hot-${randomUUID().slice(0, 8)}`,
      "controls:\n  s3-bucket-default-encryption:\n    mode: auto\nrateLimit:\n  maxAutoFixes: 100\n",
    );
    container = await deployedContainer(moto.endpoint);
  });

  async function fixOneViolation(): Promise<string> {
    const { record, resource } = await scenario.arrangeViolation(moto);
    const handler = createEngineHandler(async () => container.deps);
    const message = { MessageId: randomUUID(), ReceiptHandle: randomUUID(), Body: JSON.stringify(eventBridgeEnvelope(record)) };
    const response = await handler({ Records: [lambdaSqsRecord(message, QUEUE_ARN)] });
    expect(response.batchItemFailures).toEqual([]);
    await scenario.assertFixed(moto, resource);
    return String(record.eventID);
  }

  it("a cold container reads the log head once, then writes the event's entries with two PutItems", async () => {
    container.calls.reset();
    await fixOneViolation();
    expect(container.calls.byTable()[tables.log]).toEqual({ Query: 1, PutItem: AUTO_FIX_WRITES });
  });

  it("a warm container writes the event's entries with two PutItems and no head reads", async () => {
    container.calls.reset();
    const eventId = await fixOneViolation();
    expect(container.calls.byTable()[tables.log]).toEqual({ PutItem: AUTO_FIX_WRITES });
    // The rate limiter starts from the log it wrote for the previous fix: one conditional put, no read.
    expect(container.calls.byTable()[tables.rateLimit]).toEqual({ PutItem: 1 });
    // The record is taken (a conditional put) and completed by writing it whole (a put, not an update).
    expect(container.calls.byTable()[tables.idempotency]).toEqual({ PutItem: 2 });

    const entries: LogEntry[] = [];
    for await (const entry of container.deps.log.read()) entries.push(entry);
    expect(entries.filter((e) => e.eventId === eventId).map((e) => e.stage)).toEqual(AUTO_FIX_STAGES);
    expect(await verifyChain(entries)).toMatchObject({ ok: true, checked: 2 * AUTO_FIX_STAGES.length });
  });
});
