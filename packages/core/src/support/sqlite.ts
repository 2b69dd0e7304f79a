import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

export type SqliteDatabase = Database.Database;

/** The default local store: one file for the log, proposals, idempotency records and rate-limit counters. */
export const DEFAULT_DATABASE_PATH = ".hipaa-remediate/engine.db";

/**
 * Opens (creating if needed) the local SQLite database. WAL mode lets the CLI read the log while the runner
 * appends; the busy timeout makes concurrent writers queue instead of failing.
 */
export function openDatabase(path: string = DEFAULT_DATABASE_PATH): SqliteDatabase {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  // In WAL mode NORMAL still never corrupts the file and keeps every commit across a process crash; only a power
  // loss can drop the last commits. FULL would fsync every log append and cap replay at disk-flush speed.
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 10000");
  db.pragma("foreign_keys = ON");
  return db;
}
