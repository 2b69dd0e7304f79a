import { ConditionalCheckFailedException, CreateTableCommand, DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { setTimeout as delay } from "node:timers/promises";
import { z } from "zod";
import { canonicalJson } from "../support/json";
import { chainLink, nextEntry, type ChainLink } from "./chain";
import { DEFAULT_LOG_CHAIN, LOG_BY_EVENT_INDEX, LOG_ITEM_ATTRIBUTES, LOG_TABLE_KEYS } from "./dynamodb-schema";
import type { LogDraft, LogEntry } from "./entry";
import { CorruptLogEntryError, LogAppendConflictError } from "./errors";
import type { LogStore, ReadOptions } from "./port";
import { assertPageSize, DEFAULT_PAGE_SIZE, readWindow } from "./read-window";
import { assertLoggable } from "./redact";
import { parseStoredEntry } from "./stored-entry";

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

// DynamoDB omits the eventId attribute for entries without one (sweeps); zod 4 requires unknown() keys unless optional.
const storedItemSchema = z.object({ seq: z.number(), entry: z.string(), hash: z.unknown(), eventId: z.unknown().optional() });
const headLinkSchema = z.object({ seq: z.number(), hash: z.string() });

const NAMES = {
  "#chain": LOG_TABLE_KEYS.partitionKey.name,
  "#seq": LOG_TABLE_KEYS.sortKey.name,
} as const;

/** Every attribute a reader relies on is read back, so parseStoredEntry can hold it against the entry. */
const ITEM_NAMES = {
  "#entry": LOG_ITEM_ATTRIBUTES.entry,
  "#hash": LOG_ITEM_ATTRIBUTES.hash,
  "#eventId": LOG_ITEM_ATTRIBUTES.eventId,
} as const;
const ITEM_PROJECTION = "#seq, #entry, #hash, #eventId";

/**
 * The deployed remediation log. Each item is written with `attribute_not_exists(seq)`: of two Lambda invocations
 * racing for the same seq exactly one write lands, so the chain never forks and no entry is lost.
 *
 * The store remembers the link it last wrote (the head it knows), so an uncontested append is one conditional
 * PutItem. The head is looked for only for the first append of a store, after a write lost to another appender,
 * for a few appends after a remembered head was found stale (other appenders are active, so it would be again),
 * and when the remembered head is over a second old; from a known link it is probed, not queried (see headLink).
 * A remembered head is always an item that exists in the table, and seqs are taken in order without gaps, so a
 * stale head can only make the write fail, never chain onto the wrong entry. Appends through one store instance
 * are also queued in-process, so they never race each other.
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
    assertLoggable(draft);
    const appended = this.appendQueue.then(() => this.appendWithRetry(draft));
    this.appendQueue = appended.catch(() => undefined);
    return appended;
  }

  async *read(options?: ReadOptions): AsyncIterable<LogEntry> {
    const { fromSeq, limit } = readWindow(options);
    yield* this.query(
      {
        KeyConditionExpression: "#chain = :chain AND #seq >= :fromSeq",
        ExpressionAttributeNames: { ...NAMES, ...ITEM_NAMES },
        ExpressionAttributeValues: { ":chain": this.chain, ":fromSeq": fromSeq },
        ProjectionExpression: ITEM_PROJECTION,
        ConsistentRead: true,
      },
      limit,
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
    return item === undefined ? undefined : this.toEntry(item);
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
  private async appendWithRetry(draft: LogDraft): Promise<LogEntry> {
    const known = this.knownHead;
    const trusted = this.freshReadsAhead === 0 && known && this.now() - known.writtenAt <= REMEMBERED_HEAD_TRUST_MS;
    this.freshReadsAhead = Math.max(0, this.freshReadsAhead - 1);
    this.knownHead = undefined;
    let head = trusted ? known.link : await this.headLink(known?.link);
    let basis: "remembered" | "found" | "winner" = trusted ? "remembered" : "found";
    for (let attempt = 1; ; attempt += 1) {
      const entry = nextEntry(head, draft);
      const outcome = await this.put(entry);
      if (outcome.written || outcome.holder?.hash === entry.hash) {
        this.knownHead = { link: chainLink(entry), writtenAt: this.now() };
        return entry;
      }
      if (attempt >= this.maxAttempts) {
        throw new LogAppendConflictError(
          `could not append to log ${this.chain} in ${this.tableName}: seq ${entry.seq} was taken by another ` +
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

  /** Writes the entry unless its seq is taken; then reports who holds it. */
  private async put(entry: LogEntry): Promise<PutOutcome> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [LOG_TABLE_KEYS.partitionKey.name]: this.chain,
            [LOG_TABLE_KEYS.sortKey.name]: entry.seq,
            [LOG_ITEM_ATTRIBUTES.entry]: canonicalJson(entry),
            [LOG_ITEM_ATTRIBUTES.hash]: entry.hash,
            // The index is sparse: entries without an event are simply not in it.
            ...(entry.eventId ? { [LOG_ITEM_ATTRIBUTES.eventId]: entry.eventId } : {}),
          },
          ConditionExpression: "attribute_not_exists(#seq)",
          ExpressionAttributeNames: { "#seq": LOG_TABLE_KEYS.sortKey.name },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { written: true };
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      return { written: false, conflict: error, holder: holderOf(error, entry.seq) };
    }
  }

  /**
   * The newest link in the chain. From a link known to be in the table it probes the seqs that follow with a
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

  /** The links among the PROBE_SEQS seqs after `seq` that the table holds, by seq. */
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
            ProjectionExpression: "#seq, #hash",
            ExpressionAttributeNames: { "#seq": LOG_TABLE_KEYS.sortKey.name, "#hash": LOG_ITEM_ATTRIBUTES.hash },
          },
        },
      }),
    );
    const links = new Map<number, ChainLink>();
    for (const item of output.Responses?.[this.tableName] ?? []) {
      const link = this.parseLink(item);
      links.set(link.seq, link);
    }
    return links;
  }

  private async queriedHeadLink(): Promise<ChainLink | undefined> {
    const item = await this.newestItem(LOG_ITEM_ATTRIBUTES.hash);
    return item === undefined ? undefined : this.parseLink(item);
  }

  private parseLink(item: unknown): ChainLink {
    const parsed = headLinkSchema.safeParse(item);
    if (!parsed.success) {
      throw new CorruptLogEntryError(`an item of log ${this.chain} has no numeric seq and string hash`, {
        seq: seqOf(item),
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  /** The item with the highest seq, strongly consistent, with `seq` and one more attribute. */
  private async newestItem(attribute: string): Promise<unknown> {
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "#chain = :chain",
        ExpressionAttributeNames: { ...NAMES, "#attribute": attribute },
        ExpressionAttributeValues: { ":chain": this.chain },
        ProjectionExpression: "#seq, #attribute",
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return output.Items?.[0];
  }

  private backoffDelay(attempt: number): number {
    const ceiling = Math.min(this.backoff.capMs, this.backoff.baseMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  /** Pages through a Query, stopping after `limit` entries. */
  private async *query(
    input: Omit<QueryCommandInput, "TableName" | "Limit" | "ExclusiveStartKey">,
    limit: number,
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
        if (remaining <= 0) return;
        remaining -= 1;
        yield this.toEntry(item);
      }
      startKey = output.LastEvaluatedKey;
      if (!startKey) return;
    }
  }

  private toEntry(item: unknown): LogEntry {
    const parsed = storedItemSchema.safeParse(item);
    if (!parsed.success) {
      throw new CorruptLogEntryError(`log item in ${this.tableName} has no numeric seq and string entry`, {
        seq: seqOf(item),
        cause: parsed.error,
      });
    }
    const { entry, seq, hash, eventId } = parsed.data;
    const stored = parseStoredEntry(entry, seq, { hash, eventId });
    // The sort key places the entry in the chain: it must be the seq the entry itself claims.
    if (stored.seq !== seq) {
      throw new CorruptLogEntryError(`log item filed under seq ${seq} in ${this.tableName} holds the entry for seq ${stored.seq}`, { seq });
    }
    return stored;
  }
}

type PutOutcome = { written: true } | { written: false; conflict: ConditionalCheckFailedException | Error; holder: ChainLink | undefined };

function isConditionalCheckFailure(error: unknown): error is ConditionalCheckFailedException | Error {
  return error instanceof ConditionalCheckFailedException || (error instanceof Error && error.name === "ConditionalCheckFailedException");
}

/** The item returned with a failed condition, in raw attribute-value form (the document client does not unmarshall errors). */
function holderOf(error: ConditionalCheckFailedException | Error, seq: number): ChainLink | undefined {
  const hash = error instanceof ConditionalCheckFailedException ? error.Item?.[LOG_ITEM_ATTRIBUTES.hash]?.S : undefined;
  return hash === undefined ? undefined : { seq, hash };
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
