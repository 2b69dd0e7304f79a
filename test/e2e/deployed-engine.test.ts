import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { DynamoDbLogStore, verifyChain, type LogEntry } from "@hipaa-remediate/core";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { scenario } from "../integration/controls/scenarios/s3-bucket-default-encryption";
import { eventBridgeEnvelope } from "../support/cloudtrail";
import type { DeployedTableNames } from "../support/deployed-tables";
import { prepareDeployedEngine } from "../support/deployed-engine";
import { useMoto } from "../support/moto";
import { lambdaSqsRecord } from "../support/sqs-lambda";

const moto = useMoto();
const CONCURRENT_INVOCATIONS = 4;
const RECORDS_PER_INVOCATION = 3;

/**
 * The deployed engine's code path: the exported Lambda `handler`, wired from the environment exactly as the stack
 * sets it (DynamoDB log, proposals, idempotency and rate-limit tables; the bundled policy file), against moto.
 */
describe("the deployed engine handler on DynamoDB", () => {
  let tables: DeployedTableNames;
  let handler: (event: SQSEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

  beforeAll(async () => {
    const policy = "controls:\n  s3-bucket-default-encryption:\n    mode: auto\nrateLimit:\n  maxAutoFixes: 100\n";
    tables = await prepareDeployedEngine(moto.endpoint, "prod-hipaa-remediate", policy);
    ({ handler } = await import("../../packages/functions/src/engine"));
  });

  it("several invocations appending at once leave one valid chain, and every violation is fixed", async () => {
    const arranged = await Promise.all(
      Array.from({ length: CONCURRENT_INVOCATIONS * RECORDS_PER_INVOCATION }, () => scenario.arrangeViolation(moto)),
    );
    const records = await toSqsRecords(arranged.map(({ record }) => JSON.stringify(eventBridgeEnvelope(record))));
    const batches = Array.from({ length: CONCURRENT_INVOCATIONS }, (_, i) =>
      records.slice(i * RECORDS_PER_INVOCATION, (i + 1) * RECORDS_PER_INVOCATION),
    );

    const responses = await Promise.all(batches.map((batch) => handler({ Records: batch })));
    expect(responses.flatMap((r) => r.batchItemFailures)).toEqual([]);
    for (const { resource } of arranged) await scenario.assertFixed(moto, resource);

    const log = new DynamoDbLogStore({ client: new DynamoDBClient(moto.config), tableName: tables.log });
    const entries: LogEntry[] = [];
    for await (const entry of log.read()) entries.push(entry);
    const report = await verifyChain(entries);
    expect(report).toMatchObject({ ok: true, checked: entries.length });
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    // No entry was lost: each event went received -> finding -> decision -> applied -> verified.
    for (const { record } of arranged) {
      const stages = entries.filter((e) => e.eventId === record.eventID).map((e) => e.stage);
      expect(stages).toEqual(["received", "finding", "decision", "applying", "applied", "verified"]);
    }
  });

  it("a redelivered batch is recognised through the DynamoDB idempotency table", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    const [message] = await toSqsRecords([JSON.stringify(eventBridgeEnvelope(record))]);
    if (!message) throw new Error("no SQS record");
    await handler({ Records: [message] });
    await handler({ Records: [{ ...message, attributes: { ...message.attributes, ApproximateReceiveCount: "2" } }] });
    await scenario.assertFixed(moto, resource);
    const log = new DynamoDbLogStore({ client: new DynamoDBClient(moto.config), tableName: tables.log });
    const stages: string[] = [];
    for await (const entry of log.read()) if (entry.eventId === record.eventID) stages.push(entry.stage);
    expect(stages.filter((s) => s === "applied")).toHaveLength(1);
    expect(stages.at(-1)).toBe("ignored");
  });
});

/** Real SQS messages (ids, receipt handles, attributes) from moto, shaped as Lambda delivers them. */
async function toSqsRecords(bodies: string[]): Promise<SQSRecord[]> {
  const sqs = new SQSClient(moto.config);
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `engine-${Date.now()}-${bodies.length}` }));
  const url = QueueUrl ?? "";
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(i + j), MessageBody: body })),
      }),
    );
  }
  const records: SQSRecord[] = [];
  while (records.length < bodies.length) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"] }),
    );
    records.push(...Messages.map((m) => lambdaSqsRecord(m, Attributes?.QueueArn ?? "")));
  }
  return records;
}
