import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { canonicalJson } from "../support/json";
import type { ChainLink } from "./chain";
import { DEFAULT_LOG_CHAIN } from "./dynamodb-schema";
import type { LogEntry } from "./entry";
import type { LogStore } from "./port";
import { paddedSeq, putLockedObject } from "./s3-object-lock";

/** Where exports live in the audit bucket, beside anchors/. */
export const EXPORT_PREFIX = "exports/";
export const DEFAULT_ENTRIES_PER_EXPORT_OBJECT = 5_000;

export interface S3LogArchiveOptions {
  client: S3Client;
  /** The Object Lock bucket (compliance mode, default retention from the policy). */
  bucket: string;
  chain?: string;
  /** Bounds memory: an export object is built in memory before it is put. */
  entriesPerObject?: number;
}

export interface ArchiveResult {
  /** The last entry exported before this run (absent on the first run). */
  since?: ChainLink;
  exported: number;
  keys: string[];
}

/** The archive no longer continues from the log: the entry it ended with was changed or removed in the table. */
export class ArchiveContinuityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArchiveContinuityError";
  }
}

/**
 * Incremental export of the log into an Object Lock bucket, as JSON lines of canonical entries: byte for byte
 * what `log export --format jsonl` writes and what `log restore` reads. Each object is
 * `exports/<chain>/<first seq>-<last seq>-<last hash>.jsonl`, so the next run finds where to continue by listing
 * keys, and checks that the log still holds the entry the archive ended with before it adds anything: a table
 * edited between exports stops the export with an error (an alarm) instead of archiving the forgery.
 */
export class S3LogArchive {
  private readonly prefix: string;
  private readonly entriesPerObject: number;

  constructor(private readonly options: S3LogArchiveOptions) {
    this.prefix = `${EXPORT_PREFIX}${options.chain ?? DEFAULT_LOG_CHAIN}/`;
    this.entriesPerObject = options.entriesPerObject ?? DEFAULT_ENTRIES_PER_EXPORT_OBJECT;
    if (!Number.isInteger(this.entriesPerObject) || this.entriesPerObject < 1) {
      throw new RangeError(`entriesPerObject must be a positive integer, got ${this.entriesPerObject}`);
    }
  }

  /** Exports every entry after the last one archived. */
  async exportNew(log: Pick<LogStore, "read">): Promise<ArchiveResult> {
    const since = await this.lastArchived();
    const keys: string[] = [];
    let exported = 0;
    let batch: LogEntry[] = [];
    const flush = async () => {
      const first = batch[0];
      const last = batch.at(-1);
      if (!first || !last) return;
      const key = `${this.prefix}${paddedSeq(first.seq)}-${paddedSeq(last.seq)}-${last.hash}.jsonl`;
      await putLockedObject(
        this.options.client,
        this.options.bucket,
        key,
        batch.map((e) => `${canonicalJson(e)}\n`).join(""),
        "application/x-ndjson",
      );
      keys.push(key);
      exported += batch.length;
      batch = [];
    };
    let continued = since === undefined;
    for await (const entry of log.read({ fromSeq: since ? since.seq : 1 })) {
      if (!continued && since) {
        if (entry.seq !== since.seq || entry.hash !== since.hash) throw discontinuity(since, entry);
        continued = true;
        continue;
      }
      batch.push(entry);
      if (batch.length >= this.entriesPerObject) await flush();
    }
    if (!continued && since) throw discontinuity(since, undefined);
    await flush();
    return { ...(since ? { since } : {}), exported, keys };
  }

  /** The last entry of the newest export object, from the keys alone. */
  private async lastArchived(): Promise<ChainLink | undefined> {
    let last: ChainLink | undefined;
    let token: string | undefined;
    do {
      const page = await this.options.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const object of page.Contents ?? []) {
        const match = /^\d{16}-(\d{16})-([0-9a-f]{64})\.jsonl$/.exec((object.Key ?? "").slice(this.prefix.length));
        if (match?.[1] && match[2] && (!last || Number(match[1]) > last.seq)) last = { seq: Number(match[1]), hash: match[2] };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return last;
  }
}

function discontinuity(since: ChainLink, found: LogEntry | undefined): ArchiveContinuityError {
  const now =
    found === undefined
      ? "the log no longer reaches that entry"
      : found.seq === since.seq
        ? `the log's seq ${since.seq} now hashes to ${found.hash}`
        : `the log has no seq ${since.seq} (the next entry is seq ${found.seq})`;
  return new ArchiveContinuityError(
    `the archive ends with seq ${since.seq} hashing to ${since.hash}, but ${now}: the log was changed after it was ` +
      "exported; nothing new was exported (run `log verify` against the anchors)",
  );
}
