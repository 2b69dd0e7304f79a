import { ConditionalCheckFailedException, CreateTableCommand, DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import { canonicalJson } from "../support/json";
import { chainLink, nextEntry, onlyEntry, type ChainLink } from "./chain";
import { DEFAULT_LOG_CHAIN, LOG_BY_EVENT_INDEX, LOG_GROUP_MAX_ENTRIES, LOG_ITEM_ATTRIBUTES, LOG_TABLE_KEYS } from "./dynamodb-schema";
import type { LogDraft, LogEntry } from "./entry";
import { CorruptLogEntryError, LogAppendConflictError } from "./errors";
import type { LogStore, ReadOptions } from "./port";
import { assertPageSize, DEFAULT_PAGE_SIZE, readWindow } from "./read-window";
import { assertLoggable } from "./redact";
import { checkStoredColumns, parseStoredEntry } from "./stored-entry";

export interface DynamoDbLogStoreOptions {
  /** A plain client is wrapped in a document client. The caller owns the client: `close` leaves it alone. */
  client: DynamoDBDocumentClient | DynamoDBClient;
  tableName: string;
  /** Partition key value; several independent logs can share one table. */
  chain?: string;
  /** Appends tried before giving up with LogAppendConflictError. */
  maxAttempts?: number;
  /** Full-jitter exponential backoff between conflicting attempts. */
  backoff?: { baseMs?: number; capMs?: number };
  /** Items read per Query while streaming. */
  pageSize?: number;
  /** Injected for tests of the retry path. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/**
 * Writes one append may make before it gives up. Every lost write means another appender's entry landed, so the
 * log is moving; but with four engine containers racing for each seq, one of them lost 20 in a row about once in
 * 1,500 appends on the emulator (two `LogAppendConflictError` in a 2,000-event load); at that rate, losing 64 in a
 * row is about ten million times rarer. The pauses between them are capped at a quarter of a second, so that even
 * then the append ends well inside any function's timeout.
 */
export const DEFAULT_APPEND_ATTEMPTS = 64;
const DEFAULT_BACKOFF = { baseMs: 20, capMs: 250 };
/**
 * Under contention an append onto a remembered head costs a failed write, a head read and a write, one call more
 * than reading the head first; alone, it costs one call instead of two. After a stale head, this many appends read
 * first, then the store tries its remembered head again.
 */
const FRESH_READS_AFTER_STALE_HEAD = 8;
/**
 * How long the head a store wrote last is worth writing onto unread. An older one (a warm Lambda container that sat
 * idle while others appended) is probed forward first.
 */
const REMEMBERED_HEAD_TRUST_MS = 1_000;
/** Seqs looked up per probe past a known entry, and probes made before the head is queried instead. */
const PROBE_SEQS = 16;
const MAX_PROBES = 4;
/**
 * The JSON one item may hold, well inside DynamoDB's 400 KB item limit. A larger entry is written alone, as every
 * entry was before groups.
 */
const GROUP_MAX_BYTES = 256 * 1024;

// DynamoDB omits the eventId attribute for entries without one (sweeps); zod 4 requires unknown() keys unless optional.
const storedItemSchema = z.object({
  seq: z.number(),
  entry: z.string(),
  more: z.array(z.string()).optional(),
  lastSeq: z.number().optional(),
  hash: z.unknown(),
  eventId: z.unknown().optional(),
});
const itemLinkSchema = z.object({ seq: z.number(), hash: z.string(), lastSeq: z.number().optional() });

const NAMES = {
  "#chain": LOG_TABLE_KEYS.partitionKey.name,
  "#seq": LOG_TABLE_KEYS.sortKey.name,
} as const;

/** Every attribute a reader relies on is read back, so parseStoredEntry can hold it against the entry. */
const ITEM_NAMES = {
  "#entry": LOG_ITEM_ATTRIBUTES.entry,
  "#more": LOG_ITEM_ATTRIBUTES.more,
  "#hash": LOG_ITEM_ATTRIBUTES.hash,
  "#lastSeq": LOG_ITEM_ATTRIBUTES.lastSeq,
  "#eventId": LOG_ITEM_ATTRIBUTES.eventId,
} as const;
const ITEM_PROJECTION = "#seq, #entry, #more, #hash, #lastSeq, #eventId";
/** What finding the next free seq needs of an item: where it is filed, and its last entry's link. */
const LINK_NAMES = { "#seq": LOG_TABLE_KEYS.sortKey.name, "#hash": LOG_ITEM_ATTRIBUTES.hash, "#lastSeq": LOG_ITEM_ATTRIBUTES.lastSeq };
const LINK_PROJECTION = "#seq, #hash, #lastSeq";

/**
 * The deployed remediation log. Each item is written with `attribute_not_exists(seq)`: of two Lambda invocations
 * racing for the same seq exactly one write lands, so the chain never forks and no entry is lost. `appendAll`
 * writes the entries of one event as one item (a group, see dynamodb-schema.ts), so a unit of work's entries cost
 * one conditional write, not one each.
 *
 * The store remembers the link it last wrote (the head it knows), so an uncontested append is one conditional
 * PutItem. The head is looked for only for the first append of a store, after a write lost to another appender,
 * for a few appends after a remembered head was found stale (other appenders are active, so it would be again),
 * and when the remembered head is over a second old; from a known link it is probed, not queried (see headLink).
 * A remembered head is always the last entry of an item that exists in the table, and an item is only written at
 * the seq after such an entry, so a stale head can only make the write fail, never chain onto the wrong entry.
 * Appends through one store instance are also queued in-process, so they never race each other.
 *
 * byEvent uses the byEvent index, which DynamoDB keeps eventually consistent: an entry appended a moment ago may
 * not be listed yet. read and head are strongly consistent.
 */
export class DynamoDbLogStore implements LogStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly chain: string;
  private readonly maxAttempts: number;
  private readonly backoff: { baseMs: number; capMs: number };
  private readonly pageSize: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private appendQueue: Promise<unknown> = Promise.resolve();
  /** The newest link this store knows to be in the table (the entry it appended last), and when it was written. */
  private knownHead: { link: ChainLink; writtenAt: number } | undefined;
  /** Appends left that read the head first, because a remembered head went stale lately: others are appending. */
  private freshReadsAhead = 0;

  constructor(options: DynamoDbLogStoreOptions) {
    this.client = options.client instanceof DynamoDBDocumentClient ? options.client : DynamoDBDocumentClient.from(options.client);
    this.tableName = options.tableName;
    this.chain = options.chain ?? DEFAULT_LOG_CHAIN;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_APPEND_ATTEMPTS;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new RangeError(`maxAttempts must be a positive integer, got ${this.maxAttempts}`);
    }
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.pageSize = assertPageSize(options.pageSize ?? DEFAULT_PAGE_SIZE);
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  async append(draft: LogDraft): Promise<LogEntry> {
    return onlyEntry(await this.appendAll([draft]));
  }

  /** One item per run of drafts about the same event (within the group limits), each written as `append` writes. */
  async appendAll(drafts: readonly LogDraft[]): Promise<LogEntry[]> {
    for (const draft of drafts) assertLoggable(draft);
    const appended = this.appendQueue.then(async () => {
      const entries: LogEntry[] = [];
      for (const group of groupsOf(drafts)) entries.push(...(await this.appendGroupWithRetry(group)));
      return entries;
    });
    this.appendQueue = appended.catch(() => undefined);
    return appended;
  }

  /** An item holding seq n is filed at most LOG_GROUP_MAX_ENTRIES - 1 seqs before it: the query starts there. */
  async *read(options?: ReadOptions): AsyncIterable<LogEntry> {
    const { fromSeq, limit } = readWindow(options);
    yield* this.query(
      {
        KeyConditionExpression: "#chain = :chain AND #seq >= :fromItem",
        ExpressionAttributeNames: { ...NAMES, ...ITEM_NAMES },
        ExpressionAttributeValues: { ":chain": this.chain, ":fromItem": Math.max(1, fromSeq - LOG_GROUP_MAX_ENTRIES + 1) },
        ProjectionExpression: ITEM_PROJECTION,
        ConsistentRead: true,
      },
      limit,
      fromSeq,
    );
  }

  async head(): Promise<LogEntry | undefined> {
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "#chain = :chain",
        ExpressionAttributeNames: { ...NAMES, ...ITEM_NAMES },
        ExpressionAttributeValues: { ":chain": this.chain },
        ProjectionExpression: ITEM_PROJECTION,
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = output.Items?.[0];
    return item === undefined ? undefined : this.toEntries(item).at(-1);
  }

  async byEvent(eventId: string): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    const matching = this.query(
      {
        IndexName: LOG_BY_EVENT_INDEX.indexName,
        KeyConditionExpression: "#eventId = :eventId",
        FilterExpression: "#chain = :chain",
        ExpressionAttributeNames: {
          "#eventId": LOG_BY_EVENT_INDEX.partitionKey.name,
          "#chain": LOG_TABLE_KEYS.partitionKey.name,
        },
        ExpressionAttributeValues: { ":eventId": eventId, ":chain": this.chain },
      },
      Number.POSITIVE_INFINITY,
      1,
    );
    for await (const entry of matching) entries.push(entry);
    return entries;
  }

  async close(): Promise<void> {
    await this.appendQueue;
  }

  /**
   * Optimistic append, first onto the head this store knows. A failed condition returns the item that holds the
   * seq: when it is our own entry (the SDK retried a write whose response was lost) the append is done. When the
   * head was only remembered, another appender has written since: look for the head at once. When it was freshly
   * found, this is a true race: chain straight onto the winner, one round trip ahead of appenders that look again;
   * if that fails too, back off with jitter and look again. Correctness rests on the condition alone; all this buys
   * is progress under contention.
   */
  private async appendGroupWithRetry(drafts: readonly LogDraft[]): Promise<LogEntry[]> {
    const known = this.knownHead;
    const trusted = this.freshReadsAhead === 0 && known && this.now() - known.writtenAt <= REMEMBERED_HEAD_TRUST_MS;
    this.freshReadsAhead = Math.max(0, this.freshReadsAhead - 1);
    this.knownHead = undefined;
    let head = trusted ? known.link : await this.headLink(known?.link);
    let basis: "remembered" | "found" | "winner" = trusted ? "remembered" : "found";
    for (let attempt = 1; ; attempt += 1) {
      const entries = chained(head, drafts);
      const last = lastOf(entries);
      const outcome = await this.put(entries);
      if (outcome.written || outcome.holder?.hash === last.hash) {
        this.knownHead = { link: chainLink(last), writtenAt: this.now() };
        return entries;
      }
      if (attempt >= this.maxAttempts) {
        throw new LogAppendConflictError(
          `could not append to log ${this.chain} in ${this.tableName}: seq ${entries[0]?.seq} was taken by another ` +
            `appender on each of ${attempt} attempts`,
          { attempts: attempt, cause: outcome.conflict },
        );
      }
      if (basis === "found" && outcome.holder) {
        head = outcome.holder;
        basis = "winner";
      } else {
        // While other appenders are active a remembered head is mostly stale: look first for the next few appends.
        if (basis === "remembered") this.freshReadsAhead = FRESH_READS_AFTER_STALE_HEAD;
        else await this.sleep(this.backoffDelay(attempt));
        head = await this.headLink(outcome.holder ?? head);
        basis = "found";
      }
    }
  }

  /** Writes the entries as one item unless its seq is taken; then reports who holds it. */
  private async put(entries: readonly LogEntry[]): Promise<PutOutcome> {
    const [first, ...more] = entries;
    if (!first) throw new Error("an item holds at least one entry");
    const last = lastOf(entries);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [LOG_TABLE_KEYS.partitionKey.name]: this.chain,
            [LOG_TABLE_KEYS.sortKey.name]: first.seq,
            [LOG_ITEM_ATTRIBUTES.entry]: canonicalJson(first),
            ...(more.length > 0
              ? { [LOG_ITEM_ATTRIBUTES.more]: more.map((entry) => canonicalJson(entry)), [LOG_ITEM_ATTRIBUTES.lastSeq]: last.seq }
              : {}),
            [LOG_ITEM_ATTRIBUTES.hash]: last.hash,
            // The index is sparse: entries without an event are simply not in it. A group's entries share one event.
            ...(first.eventId ? { [LOG_ITEM_ATTRIBUTES.eventId]: first.eventId } : {}),
          },
          ConditionExpression: "attribute_not_exists(#seq)",
          ExpressionAttributeNames: { "#seq": LOG_TABLE_KEYS.sortKey.name },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { written: true };
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      return { written: false, conflict: error, holder: holderOf(error, first.seq) };
    }
  }

  /**
   * The newest link in the chain. From a link known to be in the table it probes the seqs that follow (where the
   * next item, if any, is filed: at the seq after the link) with a
   * strongly consistent BatchGetItem: one call, like the head Query, but it costs the same on a long log as on a
   * short one, where an emulator's Query sorts the whole partition each time. Only a store that knows no link, or
   * one more than a few probes behind, queries the head. A seq the batch leaves unprocessed ends the probe early:
   * the link found may then be stale, which costs the write that follows a retry, never a wrong link.
   */
  private async headLink(from?: ChainLink): Promise<ChainLink | undefined> {
    let newest = from;
    for (let probe = 0; newest !== undefined && probe < MAX_PROBES; probe += 1) {
      const following = await this.linksAfter(newest.seq);
      const probedUpTo = newest.seq + PROBE_SEQS;
      for (let next = following.get(newest.seq + 1); next !== undefined; next = following.get(newest.seq + 1)) newest = next;
      if (newest.seq < probedUpTo) return newest;
    }
    return this.queriedHeadLink();
  }

  /** The items filed at the PROBE_SEQS seqs after `seq`: their last entries' links, by the seq they are filed at. */
  private async linksAfter(seq: number): Promise<Map<number, ChainLink>> {
    const output = await this.client.send(
      new BatchGetCommand({
        RequestItems: {
          [this.tableName]: {
            Keys: Array.from({ length: PROBE_SEQS }, (_, i) => ({
              [LOG_TABLE_KEYS.partitionKey.name]: this.chain,
              [LOG_TABLE_KEYS.sortKey.name]: seq + 1 + i,
            })),
            ConsistentRead: true,
            ProjectionExpression: LINK_PROJECTION,
            ExpressionAttributeNames: LINK_NAMES,
          },
        },
      }),
    );
    const links = new Map<number, ChainLink>();
    for (const item of output.Responses?.[this.tableName] ?? []) {
      const { filedAt, link } = this.parseLink(item);
      links.set(filedAt, link);
    }
    return links;
  }

  /** The last entry's link of the item filed at the highest seq, strongly consistent. */
  private async queriedHeadLink(): Promise<ChainLink | undefined> {
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "#chain = :chain",
        ExpressionAttributeNames: { ...LINK_NAMES, "#chain": LOG_TABLE_KEYS.partitionKey.name },
        ExpressionAttributeValues: { ":chain": this.chain },
        ProjectionExpression: LINK_PROJECTION,
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = output.Items?.[0];
    return item === undefined ? undefined : this.parseLink(item).link;
  }

  private parseLink(item: unknown): { filedAt: number; link: ChainLink } {
    const parsed = itemLinkSchema.safeParse(item);
    if (!parsed.success) {
      throw new CorruptLogEntryError(`an item of log ${this.chain} has no numeric seq and string hash`, {
        seq: seqOf(item),
        cause: parsed.error,
      });
    }
    const { seq, hash, lastSeq } = parsed.data;
    return { filedAt: seq, link: { seq: lastSeq ?? seq, hash } };
  }

  private backoffDelay(attempt: number): number {
    const ceiling = Math.min(this.backoff.capMs, this.backoff.baseMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  /** Pages through a Query, yielding the entries from seq `fromSeq` on and stopping after `limit` of them. */
  private async *query(
    input: Omit<QueryCommandInput, "TableName" | "Limit" | "ExclusiveStartKey">,
    limit: number,
    fromSeq: number,
  ): AsyncGenerator<LogEntry> {
    let remaining = limit;
    let startKey: Record<string, unknown> | undefined;
    while (remaining > 0) {
      const output = await this.client.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          Limit: Math.min(this.pageSize, remaining),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of output.Items ?? []) {
        for (const entry of this.toEntries(item)) {
          if (entry.seq < fromSeq) continue;
          if (remaining <= 0) return;
          remaining -= 1;
          yield entry;
        }
      }
      startKey = output.LastEvaluatedKey;
      if (!startKey) return;
    }
  }

  /**
   * The entries an item holds, each held against what the item says of it: its seq (where the item is filed, plus
   * its place in the group), the event id column, and the hash and lastSeq columns for the last one.
   */
  private toEntries(item: unknown): LogEntry[] {
    const parsed = storedItemSchema.safeParse(item);
    if (!parsed.success) {
      throw new CorruptLogEntryError(`log item in ${this.tableName} has no numeric seq and string entry`, {
        seq: seqOf(item),
        cause: parsed.error,
      });
    }
    const { entry, more = [], seq, lastSeq, hash, eventId } = parsed.data;
    const texts = [entry, ...more];
    const claimedLast = lastSeq ?? seq;
    if (claimedLast !== seq + texts.length - 1) {
      throw new CorruptLogEntryError(
        `log item filed under seq ${seq} in ${this.tableName} holds ${texts.length} entries but gives its last as seq ${claimedLast}`,
        { seq },
      );
    }
    return texts.map((text, index) => {
      const at = seq + index;
      const stored = parseStoredEntry(text, at);
      // The sort key places the entry in the chain: it must be the seq the entry itself claims.
      if (stored.seq !== at) {
        const where = `log item filed under seq ${seq} in ${this.tableName}`;
        throw new CorruptLogEntryError(`${where} holds the entry for seq ${stored.seq} where seq ${at} belongs`, { seq: at });
      }
      // The item's hash column is its last entry's: the link the next item is written onto.
      checkStoredColumns(stored, at, { hash: index === texts.length - 1 ? hash : stored.hash, eventId });
      return stored;
    });
  }
}

type PutOutcome = { written: true } | { written: false; conflict: ConditionalCheckFailedException | Error; holder: ChainLink | undefined };

function isConditionalCheckFailure(error: unknown): error is ConditionalCheckFailedException | Error {
  return error instanceof ConditionalCheckFailedException || (error instanceof Error && error.name === "ConditionalCheckFailedException");
}

/** The item returned with a failed condition, in raw attribute-value form (the document client does not unmarshall errors). */
function holderOf(error: ConditionalCheckFailedException | Error, seq: number): ChainLink | undefined {
  const item = error instanceof ConditionalCheckFailedException ? error.Item : undefined;
  const hash = item?.[LOG_ITEM_ATTRIBUTES.hash]?.S;
  const lastSeq = Number(item?.[LOG_ITEM_ATTRIBUTES.lastSeq]?.N ?? seq);
  return hash === undefined || !Number.isSafeInteger(lastSeq) ? undefined : { seq: lastSeq, hash };
}

/** The drafts chained onto `head`, as one item would hold them. */
function chained(head: ChainLink | undefined, drafts: readonly LogDraft[]): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const draft of drafts) entries.push(nextEntry(entries.at(-1) ?? head, draft));
  return entries;
}

function lastOf(entries: readonly LogEntry[]): LogEntry {
  const last = entries.at(-1);
  if (!last) throw new Error("an item holds at least one entry");
  return last;
}

/**
 * Runs of consecutive drafts about the same event (or about none), each within LOG_GROUP_MAX_ENTRIES and
 * GROUP_MAX_BYTES: the index on the event id files a whole item under one event.
 */
function groupsOf(drafts: readonly LogDraft[]): LogDraft[][] {
  if (drafts.length <= 1) return drafts.length === 0 ? [] : [[...drafts]];
  const groups: LogDraft[][] = [];
  let current: LogDraft[] = [];
  let bytes = 0;
  for (const draft of drafts) {
    // The chain fields add under 200 bytes to each entry's JSON.
    const size = Buffer.byteLength(JSON.stringify(draft)) + 256;
    const first = current[0];
    const fits =
      first !== undefined &&
      (first.eventId || undefined) === (draft.eventId || undefined) &&
      current.length < LOG_GROUP_MAX_ENTRIES &&
      bytes + size <= GROUP_MAX_BYTES;
    if (!fits && current.length > 0) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(draft);
    bytes += size;
  }
  groups.push(current);
  return groups;
}

function seqOf(item: unknown): number {
  const seq: unknown = typeof item === "object" && item !== null ? Reflect.get(item, "seq") : undefined;
  return typeof seq === "number" ? seq : 0;
}

/**
 * Creates the log table exactly as the stack declares it (on-demand billing), and waits until it is active. For
 * tests and local setups; deployed tables come from the stack.
 */
export async function createLogTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey } = LOG_TABLE_KEYS;
  const index = LOG_BY_EVENT_INDEX;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: partitionKey.name, AttributeType: partitionKey.type },
        { AttributeName: sortKey.name, AttributeType: sortKey.type },
        { AttributeName: index.partitionKey.name, AttributeType: index.partitionKey.type },
      ],
      KeySchema: [
        { AttributeName: partitionKey.name, KeyType: "HASH" },
        { AttributeName: sortKey.name, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey.name, KeyType: "HASH" },
            { AttributeName: index.sortKey.name, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: index.projection },
        },
      ],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
}
