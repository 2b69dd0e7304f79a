import { openDatabase, type SqliteDatabase } from "../support/sqlite";
import { nextEntry, onlyEntry, type ChainLink } from "./chain";
import type { LogDraft, LogEntry } from "./entry";
import type { LogStore, ReadOptions } from "./port";
import { assertPageSize, DEFAULT_PAGE_SIZE, readWindow } from "./read-window";
import { assertLoggable } from "./redact";
import { parseStoredEntry } from "./stored-entry";
import { canonicalJson } from "../support/json";
import { RestoreError } from "./errors";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS log_entries (
    seq INTEGER PRIMARY KEY,
    entry TEXT NOT NULL,
    event_id TEXT,
    hash TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS log_entries_event_id ON log_entries (event_id, seq);
`;

const RESTORE_BATCH = 1_000;

interface StoredRow {
  seq: number;
  entry: string;
  event_id: string | null;
  hash: string;
}

/** Every column a reader relies on is read back, so parseStoredEntry can hold it against the entry. */
const ROW_COLUMNS = "seq, entry, event_id, hash";

export interface SqliteLogStoreOptions {
  /** Rows read per query while streaming. */
  pageSize?: number;
}

/**
 * The local remediation log: one row per entry, the entry kept as canonical JSON. Several processes may share the
 * file (the runner, the CLI, the local approval page): each append reads the head and inserts the next entry
 * inside one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock before the read, so two appenders can
 * never both build on the same head. The busy timeout set by openDatabase makes them queue.
 */
export class SqliteLogStore implements LogStore {
  /** Opens (creating if needed) the database file; the store then owns the connection and `close` closes it. */
  static open(path: string, options: SqliteLogStoreOptions = {}): SqliteLogStore {
    const store = new SqliteLogStore(openDatabase(path), options);
    store.ownsDatabase = true;
    return store;
  }

  private ownsDatabase = false;
  private readonly pageSize: number;
  private readonly headLink;
  private readonly headRow;
  private readonly insert;
  private readonly page;
  private readonly eventRows;
  private readonly appendAtomically;

  /** Uses a connection shared with other stores; `close` leaves it open. */
  constructor(
    private readonly db: SqliteDatabase,
    options: SqliteLogStoreOptions = {},
  ) {
    this.pageSize = assertPageSize(options.pageSize ?? DEFAULT_PAGE_SIZE);
    db.exec(SCHEMA);
    this.headLink = db.prepare<[], ChainLink>("SELECT seq, hash FROM log_entries ORDER BY seq DESC LIMIT 1");
    this.headRow = db.prepare<[], StoredRow>(`SELECT ${ROW_COLUMNS} FROM log_entries ORDER BY seq DESC LIMIT 1`);
    this.insert = db.prepare<[{ seq: number; entry: string; eventId: string | null; hash: string }]>(
      "INSERT INTO log_entries (seq, entry, event_id, hash) VALUES (@seq, @entry, @eventId, @hash)",
    );
    this.page = db.prepare<[number, number, number], StoredRow>(
      `SELECT ${ROW_COLUMNS} FROM log_entries WHERE seq >= ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
    this.eventRows = db.prepare<[string], StoredRow>(`SELECT ${ROW_COLUMNS} FROM log_entries WHERE event_id = ? ORDER BY seq`);
    this.appendAtomically = db.transaction((drafts: readonly LogDraft[]): LogEntry[] => {
      let head: ChainLink | undefined = this.headLink.get();
      return drafts.map((draft) => {
        const entry = nextEntry(head, draft);
        // Plain JSON is enough for storage: verification re-derives the canonical form from the parsed entry.
        this.insert.run({ seq: entry.seq, entry: JSON.stringify(entry), eventId: entry.eventId ?? null, hash: entry.hash });
        head = entry;
        return entry;
      });
    });
  }

  async append(draft: LogDraft): Promise<LogEntry> {
    return onlyEntry(await this.appendAll([draft]));
  }

  /** One transaction: all the drafts are written, or none. */
  async appendAll(drafts: readonly LogDraft[]): Promise<LogEntry[]> {
    for (const draft of drafts) assertLoggable(draft);
    return this.appendAtomically.immediate(drafts);
  }

  /**
   * Streams in pages (keyset on seq) rather than through one open cursor: better-sqlite3 refuses every write on a
   * connection while a cursor is open, and a reader that awaits between entries would block appends sharing it.
   */
  async *read(options?: ReadOptions): AsyncIterable<LogEntry> {
    const { fromSeq, limit } = readWindow(options);
    let afterSeq = 0;
    let remaining = limit;
    while (remaining > 0) {
      const rows = this.page.all(fromSeq, afterSeq, Math.min(this.pageSize, remaining));
      for (const row of rows) yield fromRow(row);
      const last = rows.at(-1);
      if (!last || rows.length < this.pageSize) return;
      afterSeq = last.seq;
      remaining -= rows.length;
      // The queries are synchronous: without a turn of the event loop between them, a long read (verifying a large
      // log) would hold up every other request of the process, such as the audit page's paging, until it ends.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async head(): Promise<LogEntry | undefined> {
    const row = this.headRow.get();
    return row ? fromRow(row) : undefined;
  }

  async byEvent(eventId: string): Promise<LogEntry[]> {
    return this.eventRows.all(eventId).map(fromRow);
  }

  /**
   * Rebuilds a log from exported entries (any order; the same entry twice, as overlapping exports hold it, is kept
   * once). Entries are stored exactly as exported and nothing is re-chained or checked here: `verify` afterwards,
   * against the anchors, is what says whether the copy is the log. Only into an empty log.
   */
  async restore(entries: AsyncIterable<LogEntry> | Iterable<LogEntry>): Promise<{ restored: number; duplicates: number }> {
    if (this.headLink.get()) throw new RestoreError("the log to restore into is not empty: restore into a new database");
    const existing = this.db.prepare<[number], { hash: string }>("SELECT hash FROM log_entries WHERE seq = ?");
    let restored = 0;
    let duplicates = 0;
    // One transaction per batch: a commit per entry would make a large restore crawl.
    const insertBatch = this.db.transaction((batch: LogEntry[]) => {
      for (const entry of batch) {
        const held = existing.get(entry.seq);
        if (held && held.hash !== entry.hash) {
          throw new RestoreError(`the exports hold two different entries for seq ${entry.seq} (hashes ${held.hash} and ${entry.hash})`);
        }
        if (held) {
          duplicates += 1;
          continue;
        }
        this.insert.run({ seq: entry.seq, entry: canonicalJson(entry), eventId: entry.eventId ?? null, hash: entry.hash });
        restored += 1;
      }
    });
    let batch: LogEntry[] = [];
    for await (const entry of entries) {
      batch.push(entry);
      if (batch.length >= RESTORE_BATCH) {
        insertBatch(batch);
        batch = [];
      }
    }
    insertBatch(batch);
    return { restored, duplicates };
  }

  async close(): Promise<void> {
    if (this.ownsDatabase && this.db.open) this.db.close();
  }
}

function fromRow(row: StoredRow): LogEntry {
  return parseStoredEntry(row.entry, row.seq, { hash: row.hash, eventId: row.event_id });
}
