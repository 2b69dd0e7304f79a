import { DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import {
  canonicalJson,
  createLogTable,
  DynamoDbLogStore,
  LOG_APPEND_ACTIONS,
  LOG_BY_EVENT_INDEX,
  LOG_TABLE_KEYS,
  verifyChain,
  type LogEntry,
} from "@hipaa-remediate/core";
import { countDynamoDbCalls, emulatorAtomicConditionalWrites } from "../../support/deployed-engine";
import { appendSamples, collect, sampleLogDraft } from "../../support/log-drafts";
import { describeLogStoreContract } from "../../support/log-store-contract";
import { useMoto } from "../../support/moto";

const moto = useMoto();

/**
 * For stores racing through emulatorAtomicConditionalWrites: the emulator's writes wait their turn in one queue, so
 * a loser waits longer than on DynamoDB and can use up the default 20 attempts on a busy machine. These tests are
 * about the chain under contention, not about the attempt budget.
 */
const RACING_BUDGET = { maxAttempts: 60, backoff: { capMs: 250 } };

let tables = 0;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A fresh table and a client of its own, removed after the test. */
async function freshTable(): Promise<{ client: DynamoDBClient; tableName: string }> {
  const client = new DynamoDBClient(moto.config);
  tables += 1;
  const tableName = `remediation-log-${tables}`;
  await createLogTable(client, tableName);
  cleanups.push(async () => {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
    client.destroy();
  });
  return { client, tableName };
}

/** Stores with clients of their own (separate Lambda containers), each counting its calls. */
function racingAppenders(tableName: string, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const client = new DynamoDBClient(moto.config);
    cleanups.push(async () => client.destroy());
    // moto can let two simultaneous conditional writes both land; DynamoDB cannot (see the helper).
    emulatorAtomicConditionalWrites(client);
    return { id: i + 1, store: new DynamoDbLogStore({ client, tableName, ...RACING_BUDGET }), calls: countDynamoDbCalls(client) };
  });
}

describeLogStoreContract("DynamoDbLogStore", async () => {
  const { client, tableName } = await freshTable();
  const store = new DynamoDbLogStore({ client, tableName, pageSize: 7 });
  return { store, cleanup: () => store.close() };
});

describe("DynamoDbLogStore", () => {
  it("creates the table the stack declares: chain/seq keys and the byEvent index", async () => {
    const { client, tableName } = await freshTable();
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: LOG_TABLE_KEYS.partitionKey.name, KeyType: "HASH" },
      { AttributeName: LOG_TABLE_KEYS.sortKey.name, KeyType: "RANGE" },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    expect(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema])).toEqual([
      [
        LOG_BY_EVENT_INDEX.indexName,
        [
          { AttributeName: "eventId", KeyType: "HASH" },
          { AttributeName: "seq", KeyType: "RANGE" },
        ],
      ],
    ]);
  });

  it("keeps one valid chain when independent stores with their own clients append at once", async () => {
    const { tableName } = await freshTable();
    const appenders = Array.from({ length: 5 }, (_, i) => {
      // Separate clients stand for separate Lambda invocations: nothing is shared but the table.
      const client = new DynamoDBClient(moto.config);
      cleanups.push(async () => client.destroy());
      // moto can let two simultaneous conditional writes both land; DynamoDB cannot (see the helper).
      emulatorAtomicConditionalWrites(client);
      return { id: i + 1, store: new DynamoDbLogStore({ client, tableName, ...RACING_BUDGET }) };
    });
    const appended: LogEntry[][] = await Promise.all(
      appenders.map(({ id, store }) =>
        Promise.all(Array.from({ length: 20 }, (_, n) => store.append(sampleLogDraft(n + 1, { eventId: `lambda-${id}-${n + 1}` })))),
      ),
    );

    const reader = appenders[0]?.store;
    if (!reader) throw new Error("no appenders");
    expect(await verifyChain(reader.read())).toMatchObject({ ok: true, checked: 100, head: { seq: 100 } });
    const stored = await collect(reader.read());
    expect(stored.map((entry) => entry.eventId).sort()).toEqual(
      appended
        .flat()
        .map((entry) => entry.eventId)
        .sort(),
    );
    // What each append returned is exactly what is stored at its seq.
    for (const entry of appended.flat()) expect(stored[entry.seq - 1]).toEqual(entry);
  });

  it("chains onto the winner when another appender takes the seq between its head read and its write", async () => {
    const { tableName } = await freshTable();
    const winner = new DynamoDbLogStore({ client: new DynamoDBClient(moto.config), tableName });
    const loserClient = new DynamoDBClient(moto.config);
    let puts = 0;
    let winnerEntry: LogEntry | undefined;
    // Before the loser's first write lands, the winner appends: the loser's head is then stale.
    loserClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "PutItemCommand") {
          puts += 1;
          if (puts === 1) winnerEntry = await winner.append(sampleLogDraft(1, { eventId: "winner" }));
        }
        return next(args);
      },
      { step: "initialize", name: "raceAnotherAppender" },
    );
    const loser = new DynamoDbLogStore({ client: loserClient, tableName });

    const loserEntry = await loser.append(sampleLogDraft(2, { eventId: "loser" }));

    expect(puts).toBe(2);
    expect(winnerEntry?.seq).toBe(1);
    expect(loserEntry).toMatchObject({ seq: 2, prevHash: winnerEntry?.hash, eventId: "loser" });
    expect(await collect(loser.read())).toEqual([winnerEntry, loserEntry]);
    expect(await verifyChain(loser.read())).toMatchObject({ ok: true, checked: 2 });
  });

  it("a store that knows its head appends with one PutItem per entry and never queries the head again", async () => {
    const { tableName } = await freshTable();
    const client = new DynamoDBClient(moto.config);
    cleanups.push(async () => client.destroy());
    const calls = countDynamoDbCalls(client);
    const store = new DynamoDbLogStore({ client, tableName });

    await appendSamples(store, 6);

    expect(calls.byTable()[tableName]).toEqual({ Query: 1, PutItem: 6 });
    expect(await verifyChain(store.read())).toMatchObject({ ok: true, checked: 6 });
  });

  it("stores whose remembered heads go stale take turns without a gap, a duplicate or a fork", async () => {
    const { tableName } = await freshTable();
    const appenders = racingAppenders(tableName, 4);
    // Round robin: every append after each store's first is made on a head that another store has moved past.
    const appended: LogEntry[] = [];
    for (let round = 1; round <= 5; round += 1) {
      for (const { id, store } of appenders) appended.push(await store.append(sampleLogDraft(round, { eventId: `store-${id}-${round}` })));
    }
    // Then all at once, each store on whatever head it remembers.
    const concurrent = await Promise.all(
      appenders.map(({ id, store }) =>
        Promise.all(Array.from({ length: 10 }, (_, n) => store.append(sampleLogDraft(n + 1, { eventId: `burst-${id}-${n + 1}` })))),
      ),
    );
    appended.push(...concurrent.flat());
    const callsToAppend = appenders.map(({ calls }) => ({ ...calls.byTable()[tableName] }));

    const reader = appenders[0]?.store;
    if (!reader) throw new Error("no appenders");
    const stored = await collect(reader.read());
    expect(stored.map((entry) => entry.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await verifyChain(stored)).toMatchObject({ ok: true, checked: 60, head: { seq: 60 } });
    expect(new Set(appended.map((entry) => entry.seq)).size).toBe(60);
    for (const entry of appended) expect(stored[entry.seq - 1]).toEqual(entry);
    // A stale head costs a failed PutItem and a probe of the seqs after the entry that holds it, never a wrong link;
    // the head is queried once per store, for its first append.
    for (const calls of callsToAppend) expect(calls.Query).toBe(1);
    expect(callsToAppend.reduce((sum, calls) => sum + (calls.BatchGetItem ?? 0), 0)).toBeGreaterThan(0);
    // What the store sent is what the stack grants an appender (LOG_APPEND_ACTIONS), and nothing more.
    const sent = new Set(callsToAppend.flatMap((calls) => Object.keys(calls)).map((command) => `dynamodb:${command}`));
    for (const action of sent) expect(LOG_APPEND_ACTIONS).toContain(action);
  });

  it("an item edited in the table is named by verifyChain, and a mangled one is reported, not thrown", async () => {
    const { client, tableName } = await freshTable();
    const documents = DynamoDBDocumentClient.from(client);
    const store = new DynamoDbLogStore({ client: documents, tableName });
    const appended = await appendSamples(store, 4);
    const third = appended[2];
    if (!third) throw new Error("fixture has no third entry");
    const setEntry = (seq: number, entry: string) =>
      documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { chain: "remediation-log", seq },
          UpdateExpression: "SET #entry = :entry",
          ExpressionAttributeNames: { "#entry": "entry" },
          ExpressionAttributeValues: { ":entry": entry },
        }),
      );

    await setEntry(3, canonicalJson({ ...third, reason: "nothing happened" }));
    expect(await verifyChain(store.read())).toMatchObject({
      ok: false,
      checked: 2,
      firstBad: { seq: 3, position: 2, problem: "edited" },
    });

    await setEntry(2, "{not json");
    expect(await verifyChain(store.read())).toMatchObject({
      ok: false,
      checked: 1,
      firstBad: { seq: 2, position: 1, problem: "edited", detail: "log entry stored at seq 2 is not valid JSON" },
    });
  });

  it("writes a unit of work's entries as one item, and racing stores writing groups keep one chain", async () => {
    const { tableName } = await freshTable();
    const appenders = racingAppenders(tableName, 4);
    const [first] = appenders;
    if (!first) throw new Error("no appenders");
    const unit = (id: number, n: number) =>
      (["received", "finding", "decision", "applying"] as const).map((stage, i) =>
        sampleLogDraft(n * 10 + i, { eventId: `store-${id}-${n}`, stage }),
      );

    // Alone, with its head known: one PutItem for the four entries.
    await first.store.append(sampleLogDraft(1, { eventId: "opening" }));
    first.calls.reset();
    const alone = await first.store.appendAll(unit(1, 0));
    expect(alone.map((entry) => entry.seq)).toEqual([2, 3, 4, 5]);
    expect(first.calls.byTable()[tableName]).toEqual({ PutItem: 1 });

    // Racing: groups and single entries, each store on whatever head it remembers (so probes cross groups).
    const raced = await Promise.all(
      appenders.map(({ id, store }) =>
        Promise.all(
          Array.from({ length: 6 }, (_, n) =>
            n % 3 === 2 ? store.append(sampleLogDraft(n, { eventId: `single-${id}-${n}` })) : store.appendAll(unit(id, n + 1)),
          ),
        ),
      ),
    );
    const stored = await collect(first.store.read());
    const total = 5 + 4 * (4 * 4 + 2);
    expect(stored.map((entry) => entry.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(await verifyChain(stored)).toMatchObject({ ok: true, checked: total, head: { seq: total } });
    for (const result of raced.flat()) {
      const entries = Array.isArray(result) ? result : [result];
      for (const entry of entries) expect(stored[entry.seq - 1]).toEqual(entry);
      // A group's entries are consecutive: no other appender's entry came between them.
      expect(entries.map((entry) => entry.seq - (entries[0]?.seq ?? 0))).toEqual(entries.map((_, i) => i));
    }
    expect((await first.store.byEvent("store-3-2")).map((entry) => entry.stage)).toEqual(["received", "finding", "decision", "applying"]);
    const sent = new Set(appenders.flatMap(({ calls }) => Object.keys(calls.byTable()[tableName] ?? {})).map((c) => `dynamodb:${c}`));
    for (const action of sent) expect(LOG_APPEND_ACTIONS).toContain(action);
  });

  it("splits drafts into items by event and by size, and reads a window that starts inside an item", async () => {
    const { client, tableName } = await freshTable();
    const calls = countDynamoDbCalls(client);
    const store = new DynamoDbLogStore({ client, tableName, pageSize: 2 });
    // Each about 100 KB: two fit in one item, a third does not.
    const large = (n: number) =>
      sampleLogDraft(n, { eventId: "event-large", details: { parts: Array.from({ length: 4 }, (_, i) => `${i}`.repeat(25_000)) } });
    const appended = await store.appendAll([large(1), large(2), large(3), sampleLogDraft(4, { eventId: "event-other" })]);
    expect(calls.byTable()[tableName]?.PutItem).toBe(3);
    expect(await collect(store.read())).toEqual(appended);
    expect((await collect(store.read({ fromSeq: 2, limit: 2 }))).map((entry) => entry.seq)).toEqual([2, 3]);
    expect((await store.byEvent("event-large")).map((entry) => entry.seq)).toEqual([1, 2, 3]);
  });

  it("a group item whose entries, last seq or hash column are edited is reported by verifyChain, not thrown", async () => {
    const { client, tableName } = await freshTable();
    const documents = DynamoDBDocumentClient.from(client);
    const store = new DynamoDbLogStore({ client: documents, tableName });
    await store.append(sampleLogDraft(1));
    const group = await store.appendAll([2, 3, 4].map((n) => sampleLogDraft(n, { eventId: "event-group" })));
    const update = (expression: string, values: Record<string, unknown>, names: Record<string, string>) =>
      documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { chain: "remediation-log", seq: 2 },
          UpdateExpression: expression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    const [, middle, last] = group;
    if (!middle || !last) throw new Error("fixture has no group of three");

    await update(
      "SET #more = :more",
      { ":more": [canonicalJson({ ...middle, reason: "nothing happened" }), canonicalJson(last)] },
      { "#more": "more" },
    );
    expect(await verifyChain(store.read())).toMatchObject({ ok: false, checked: 2, firstBad: { seq: 3, problem: "edited" } });

    await update(
      "SET #more = :more, #lastSeq = :lastSeq",
      { ":more": [canonicalJson(middle), canonicalJson(last)], ":lastSeq": 5 },
      { "#more": "more", "#lastSeq": "lastSeq" },
    );
    expect(await verifyChain(store.read())).toMatchObject({
      ok: false,
      firstBad: { seq: 2, detail: expect.stringContaining("holds 3 entries but gives its last as seq 5") },
    });

    await update(
      "SET #lastSeq = :lastSeq, #hash = :hash",
      { ":lastSeq": 4, ":hash": middle.hash },
      { "#lastSeq": "lastSeq", "#hash": "hash" },
    );
    expect(await verifyChain(store.read())).toMatchObject({
      ok: false,
      firstBad: { seq: 4, detail: expect.stringContaining("the stored hash column") },
    });
  });

  it("keeps chains with different names in one table apart", async () => {
    const { client, tableName } = await freshTable();
    const documents = DynamoDBDocumentClient.from(client);
    const production = new DynamoDbLogStore({ client: documents, tableName, chain: "prod" });
    const staging = new DynamoDbLogStore({ client: documents, tableName, chain: "staging" });
    await appendSamples(production, 3);
    await staging.append(sampleLogDraft(2, { eventId: "event-2" }));
    expect(await verifyChain(production.read())).toMatchObject({ ok: true, checked: 3 });
    expect(await verifyChain(staging.read())).toMatchObject({ ok: true, checked: 1 });
    expect((await production.byEvent("event-2")).map((entry) => entry.seq)).toEqual([2]);
    expect((await staging.byEvent("event-2")).map((entry) => entry.seq)).toEqual([1]);
  });
});
