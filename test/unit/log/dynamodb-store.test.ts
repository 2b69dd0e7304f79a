import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoDbLogStore, LogAppendConflictError, nextEntry, type LogEntry } from "@hipaa-remediate/core";
import { sampleLogDraft } from "../../support/log-drafts";

/*
 * Fault injection for the append retry loop. The happy paths and real races run against moto in
 * test/integration/log/dynamodb-store.test.ts; these cover what moto cannot be made to do on demand.
 */
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const dynamo = mockClient(documents);

const existing = nextEntry(undefined, sampleLogDraft(1));

function conflictHeldBy(hash?: string): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: { httpStatusCode: 400 },
    ...(hash ? { Item: { hash: { S: hash } } } : {}),
  });
}

function store(options: { maxAttempts?: number; delays?: number[] } = {}): DynamoDbLogStore {
  return new DynamoDbLogStore({
    client: documents,
    tableName: "log",
    maxAttempts: options.maxAttempts ?? 4,
    backoff: { baseMs: 100, capMs: 250 },
    random: () => 0.5,
    sleep: async (ms) => {
      options.delays?.push(ms);
    },
  });
}

beforeEach(() => {
  dynamo.reset();
  dynamo.on(QueryCommand).resolves({ Items: [{ seq: existing.seq, hash: existing.hash }] });
});

describe("DynamoDbLogStore append under contention", () => {
  it("gives up with LogAppendConflictError after maxAttempts, backing off with jitter", async () => {
    const conflict = conflictHeldBy();
    dynamo.on(PutCommand).rejects(conflict);
    const delays: number[] = [];

    const error: unknown = await store({ maxAttempts: 4, delays })
      .append(sampleLogDraft(2))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LogAppendConflictError);
    expect(error).toMatchObject({ attempts: 4, cause: conflict });
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(4);
    // Full jitter: random() * min(cap, base * 2^(attempt-1)) with random() = 0.5.
    expect(delays).toEqual([50, 100, 125]);
  });

  it("chains straight onto the entry that won the seq, without re-reading the head", async () => {
    const winner = nextEntry(existing, sampleLogDraft(2));
    dynamo.on(PutCommand).rejectsOnce(conflictHeldBy(winner.hash)).resolves({});
    const delays: number[] = [];

    const entry = await store({ delays }).append(sampleLogDraft(3));

    expect(entry).toMatchObject({ seq: 3, prevHash: winner.hash });
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it("treats a conflict with its own entry as success (the SDK retried a write that had landed)", async () => {
    const mine = nextEntry(existing, sampleLogDraft(2));
    dynamo.on(PutCommand).rejects(conflictHeldBy(mine.hash));

    const entry = await store().append(sampleLogDraft(2));

    expect(entry).toEqual(mine);
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(1);
  });

  it("passes other failures through unchanged, and later appends still run", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    dynamo.on(PutCommand).rejectsOnce(throttled).resolves({});
    const log = store();

    await expect(log.append(sampleLogDraft(2))).rejects.toBe(throttled);
    const next: LogEntry = await log.append(sampleLogDraft(3));
    expect(next.seq).toBe(2);
  });

  it("refuses maxAttempts below one", () => {
    expect(() => store({ maxAttempts: 0 })).toThrow(/maxAttempts must be a positive integer/);
  });
});
