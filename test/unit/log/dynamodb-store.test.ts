import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
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

function conflictHeldBy(hash?: string, lastSeq?: number): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: { httpStatusCode: 400 },
    ...(hash ? { Item: { hash: { S: hash }, ...(lastSeq ? { lastSeq: { N: String(lastSeq) } } : {}) } } : {}),
  });
}

function store(options: { maxAttempts?: number; delays?: number[]; now?: () => number } = {}): DynamoDbLogStore {
  return new DynamoDbLogStore({
    client: documents,
    tableName: "log",
    ...(options.now ? { now: options.now } : {}),
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
  dynamo.on(BatchGetCommand).resolves({ Responses: { log: [] } });
});

/** The links `count` entries after `from`, as a probe of the table returns them. */
function linksAfter(from: LogEntry, count: number): { seq: number; hash: string }[] {
  const links: LogEntry[] = [];
  for (let n = 1; n <= count; n += 1) links.push(nextEntry(links.at(-1) ?? from, sampleLogDraft(from.seq + n)));
  return links.map(({ seq, hash }) => ({ seq, hash }));
}

function probedSeqs(): number[][] {
  return dynamo
    .commandCalls(BatchGetCommand)
    .map((call) => (call.args[0].input.RequestItems?.log?.Keys ?? []).map((key) => Number(key.seq)));
}

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

  it("chains onto the last entry of a group that won the seq, and probes past groups by where they end", async () => {
    // The winner holds seqs 2 to 4 in one item filed at 2.
    const group = linksAfter(existing, 3);
    const groupEnd = group.at(-1);
    dynamo.on(PutCommand).rejectsOnce(conflictHeldBy(groupEnd?.hash, 4)).resolves({});

    const entry = await store().append(sampleLogDraft(5));

    expect(entry).toMatchObject({ seq: 5, prevHash: groupEnd?.hash });
    const puts = dynamo.commandCalls(PutCommand).map((call) => call.args[0].input.Item?.seq);
    expect(puts).toEqual([2, 5]);
  });

  it("probes on past a group that ends beyond the probed seqs, and writes after its last entry", async () => {
    let clock = 0;
    const log = store({ now: () => clock });
    dynamo.on(PutCommand).resolves({});
    const second = await log.append(sampleLogDraft(2));
    // Idle past the trust window, while another appender wrote seqs 3 to 18 as one item filed at 3.
    clock = 60_000;
    const groupEnd = linksAfter(second, 16).at(-1);
    dynamo
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { log: [{ seq: 3, hash: groupEnd?.hash, lastSeq: 18 }] } })
      .resolves({ Responses: { log: [] } });

    const entry = await log.append(sampleLogDraft(19));

    expect(entry).toMatchObject({ seq: 19, prevHash: groupEnd?.hash });
    expect(probedSeqs()).toEqual([Array.from({ length: 16 }, (_, i) => 3 + i), Array.from({ length: 16 }, (_, i) => 19 + i)]);
    expect(dynamo.commandCalls(PutCommand).map((call) => call.args[0].input.Item?.seq)).toEqual([2, 19]);
  });

  it("after a remembered head went stale, probes the seqs after the entry holding its seq, and queries no head", async () => {
    const [holder, ...later] = linksAfter(nextEntry(existing, sampleLogDraft(2)), 3);
    dynamo.on(PutCommand).resolvesOnce({}).rejectsOnce(conflictHeldBy(holder?.hash)).resolves({});
    const log = store();
    await log.append(sampleLogDraft(2));
    dynamo.on(BatchGetCommand).resolves({ Responses: { log: later } });

    const entry = await log.append(sampleLogDraft(6));

    expect(entry).toMatchObject({ seq: 6, prevHash: later.at(-1)?.hash });
    expect(probedSeqs()).toEqual([Array.from({ length: 16 }, (_, i) => 4 + i)]);
    expect(dynamo.commandCalls(BatchGetCommand)[0]?.args[0].input.RequestItems?.log?.ConsistentRead).toBe(true);
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(1);
  });

  it("probes on while every probed seq is taken, and queries the head once it is more than four probes behind", async () => {
    const behind = linksAfter(nextEntry(existing, sampleLogDraft(2)), 1 + 4 * 16);
    const [holder] = behind;
    dynamo.on(PutCommand).resolvesOnce({}).rejectsOnce(conflictHeldBy(holder?.hash)).resolves({});
    const log = store({ maxAttempts: 4 });
    await log.append(sampleLogDraft(2));
    dynamo.on(BatchGetCommand).callsFake((input: { RequestItems: { log: { Keys: { seq: number }[] } } }) => ({
      Responses: { log: behind.filter((link) => input.RequestItems.log.Keys.some((key) => key.seq === link.seq)) },
    }));
    dynamo.on(QueryCommand).resolves({ Items: [{ seq: 200, hash: "h200" }] });

    const entry = await log.append(sampleLogDraft(9));

    expect(probedSeqs().map((seqs) => seqs[0])).toEqual([4, 20, 36, 52]);
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(2);
    expect(entry).toMatchObject({ seq: 201, prevHash: "h200" });
  });

  it("trusts the head it wrote last for a second, then looks past it before writing", async () => {
    let clock = 0;
    const log = store({ now: () => clock });
    const mine = await log.append(sampleLogDraft(2));
    clock += 1_000;
    await log.append(sampleLogDraft(3));
    expect(dynamo.commandCalls(BatchGetCommand)).toHaveLength(0);

    // A container that sat idle while others appended: its head is stale, and the probe finds how far.
    clock += 1_001;
    const later = linksAfter(nextEntry(mine, sampleLogDraft(3)), 2);
    dynamo.on(BatchGetCommand).resolves({ Responses: { log: later } });
    const afterIdle = await log.append(sampleLogDraft(4));

    expect(probedSeqs()).toEqual([Array.from({ length: 16 }, (_, i) => 4 + i)]);
    expect(afterIdle).toMatchObject({ seq: 6, prevHash: later.at(-1)?.hash });
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(3);
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
