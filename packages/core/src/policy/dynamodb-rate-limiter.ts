import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { MS_PER_MINUTE, RateLimitStoreError, type RateLimiter, type RateLimits } from "./rate-limiter";

/**
 * The rate-limit table's key schema, for the infrastructure stack: a string partition key and a TTL attribute
 * (epoch seconds) that lets DynamoDB delete a log nobody has written to for a while.
 */
export const RATE_LIMIT_TABLE_SCHEMA = {
  partitionKey: { name: "pk", type: "S" },
  timeToLiveAttribute: "expiresAt",
} as const;

const GRANTS_ATTRIBUTE = "grants";
const VERSION_ATTRIBUTE = "version";

/**
 * The sliding log keeps one timestamp per fix in the window, in one item (DynamoDB items hold 400 KB); caps above
 * this belong to no realistic policy and would not fit.
 */
export const MAX_SLIDING_WINDOW_CAP = 10_000;

/**
 * Conditional writes lost in a row before giving up. Each loss means another engine changed the log in between, so
 * this many losses take that many concurrent fixes, far more than a cap lets through at once.
 */
const MAX_WRITE_ATTEMPTS = 25;

export interface DynamoDbRateLimiterOptions {
  client: DynamoDBClient;
  tableName: string;
  limits: RateLimits;
  /** Keeps counters apart when several deployments (stages) share one table. */
  scope?: string;
}

/** The log as read: the fixes' times (epoch ms) and the version token the next write is conditioned on. */
interface GrantLog {
  /** Absent when there is no item yet. */
  version?: string;
  grants: number[];
}

/**
 * Rate limiter for the deployed engine, over a sliding window: one item per scope holds the times of the automatic
 * fixes of the last window. A fix is granted when fewer than the cap fall in the window that ends now, so no span of
 * one window length ever holds more than the cap, across window boundaries too (a fixed window lets a burst at
 * its end and the next one's start reach twice the cap).
 *
 * Every engine shares the item. A grant is a put conditioned on the version token of the log it starts from
 * (optimistic concurrency): DynamoDB evaluates the condition and the write atomically, so of two engines that
 * start from the same log only one writes it; the other reads again and decides on the new log. The token is
 * random, not a counter, so a log deleted by TTL and written again can never match a stale read.
 *
 * A warm engine starts from the log it last wrote or read, without reading: when no other engine wrote since, the
 * grant is one conditional put; when one did, the put fails and the engine reads. Fixes only leave the log by
 * ageing out of the window, so a remembered log can miss other engines' fixes but never shows more than there are:
 * its count is a lower bound (the put decides), and a remembered log that shows the window full is read again
 * before a fix is refused on it.
 */
export class DynamoDbRateLimiter implements RateLimiter {
  private readonly documents: DynamoDBDocumentClient;
  private readonly windowMs: number;
  private readonly key: string;
  /** The log as this engine last wrote or read it: where the next grant starts from, to save a read on the hot path. */
  #known: GrantLog | undefined;

  constructor(private readonly options: DynamoDbRateLimiterOptions) {
    if (options.limits.maxAutoFixes > MAX_SLIDING_WINDOW_CAP) {
      throw new RateLimitStoreError(
        `rateLimit.maxAutoFixes is ${options.limits.maxAutoFixes}; the DynamoDB rate limiter keeps one timestamp per fix ` +
          `in the window and supports at most ${MAX_SLIDING_WINDOW_CAP}`,
      );
    }
    this.documents = DynamoDBDocumentClient.from(options.client);
    this.windowMs = options.limits.windowMinutes * MS_PER_MINUTE;
    this.key = `rate-limit#${options.scope ?? "default"}#sliding#${options.limits.windowMinutes}m`;
  }

  /** On a warm engine, a lower bound from the log it last saw, unless that log shows the window full (then read). */
  async countInWindow(now: Date): Promise<number> {
    const nowMs = now.getTime();
    const known = this.#known;
    if (known && !this.isFull(known, nowMs)) return this.inWindow(known.grants, nowMs).length;
    const log = await this.read();
    this.#known = log;
    return this.inWindow(log.grants, nowMs).length;
  }

  async tryAcquire(now: Date): Promise<boolean> {
    // With a cap of 0 nothing is ever granted, whatever the log holds.
    if (this.options.limits.maxAutoFixes <= 0) return false;
    const nowMs = now.getTime();
    // A log seen earlier is safe to start from: if it shows room, the conditional put checks it is still current.
    const remembered = this.#known;
    let log = remembered ?? (await this.read());
    // A remembered full window is read again before refusing: the item may have been reset since.
    if (remembered && this.isFull(remembered, nowMs)) log = await this.read();
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      this.#known = log;
      if (this.isFull(log, nowMs)) return false;
      const grants = [...this.inWindow(log.grants, nowMs), nowMs];
      const version = await this.write(log.version, grants);
      if (version !== undefined) {
        this.#known = { version, grants };
        return true;
      }
      log = await this.read();
    }
    throw new RateLimitStoreError(
      `rate limiter lost ${MAX_WRITE_ATTEMPTS} conditional writes in a row on ${this.key} in ${this.options.tableName}; ` +
        "whether this fix may go ahead is unknown",
    );
  }

  private isFull(log: GrantLog, nowMs: number): boolean {
    return this.inWindow(log.grants, nowMs).length >= this.options.limits.maxAutoFixes;
  }

  /** Fixes inside the window that ends at `nowMs`; the ones at or before its start no longer count. */
  private inWindow(grants: number[], nowMs: number): number[] {
    return grants.filter((at) => at > nowMs - this.windowMs);
  }

  private async read(): Promise<GrantLog> {
    let item: Record<string, unknown> | undefined;
    try {
      const result = await this.documents.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: { [RATE_LIMIT_TABLE_SCHEMA.partitionKey.name]: this.key },
          ConsistentRead: true,
        }),
      );
      item = result.Item;
    } catch (error) {
      throw new RateLimitStoreError(`rate limiter could not read ${this.key} from ${this.options.tableName}`, { cause: error });
    }
    if (!item) return { grants: [] };
    const grants: unknown = item[GRANTS_ATTRIBUTE];
    const version: unknown = item[VERSION_ATTRIBUTE];
    if (!Array.isArray(grants) || !grants.every((at): at is number => typeof at === "number") || typeof version !== "string") {
      throw new RateLimitStoreError(
        `rate limiter item ${this.key} in ${this.options.tableName} is damaged: expected ${GRANTS_ATTRIBUTE} (a list of ` +
          `numbers) and ${VERSION_ATTRIBUTE} (a string); delete the item to start a fresh window`,
      );
    }
    return { version, grants };
  }

  /** Puts the new log if nobody wrote since `version`; its new version, or undefined when someone did. */
  private async write(version: string | undefined, grants: number[]): Promise<string | undefined> {
    const newest = Math.max(...grants);
    const written = randomUUID();
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: {
            [RATE_LIMIT_TABLE_SCHEMA.partitionKey.name]: this.key,
            [GRANTS_ATTRIBUTE]: grants,
            [VERSION_ATTRIBUTE]: written,
            // Deleted once every fix in it has left the window, plus one window for readers of the last count.
            [RATE_LIMIT_TABLE_SCHEMA.timeToLiveAttribute]: Math.ceil((newest + 2 * this.windowMs) / 1000),
          },
          ConditionExpression: version === undefined ? "attribute_not_exists(#version)" : "#version = :version",
          ExpressionAttributeNames: { "#version": VERSION_ATTRIBUTE },
          ...(version === undefined ? {} : { ExpressionAttributeValues: { ":version": version } }),
        }),
      );
      return written;
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return undefined;
      throw new RateLimitStoreError(`rate limiter could not record an automatic fix in ${this.options.tableName}`, { cause: error });
    }
  }
}
