import type { Statement } from "better-sqlite3";
import type { SqliteDatabase } from "../support/sqlite";
import { MS_PER_MINUTE, RateLimitStoreError, type RateLimiter, type RateLimits } from "./rate-limiter";

/**
 * Rate limiter for local mode: one row per automatic fix in `rate_limit_events`, counted over a sliding window.
 * `tryAcquire` counts and inserts inside an IMMEDIATE transaction, which takes SQLite's write lock before it
 * reads, so two processes sharing the database file cannot both take the last slot.
 */
export class SqliteRateLimiter implements RateLimiter {
  private readonly windowMs: number;
  private readonly countSince: Statement<[number], { count: number }>;
  private readonly acquire: (nowMs: number) => boolean;

  constructor(
    db: SqliteDatabase,
    private readonly limits: RateLimits,
  ) {
    this.windowMs = limits.windowMinutes * MS_PER_MINUTE;
    db.exec(`
      CREATE TABLE IF NOT EXISTS rate_limit_events (at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS rate_limit_events_at ON rate_limit_events (at);
    `);
    this.countSince = db.prepare<[number], { count: number }>("SELECT count(*) AS count FROM rate_limit_events WHERE at > ?");
    const prune = db.prepare<[number]>("DELETE FROM rate_limit_events WHERE at <= ?");
    const record = db.prepare<[number]>("INSERT INTO rate_limit_events (at) VALUES (?)");
    const transaction = db.transaction((nowMs: number): boolean => {
      const windowStart = nowMs - this.windowMs;
      // Rows that left the window can never count again; dropping them keeps the table as small as the cap.
      prune.run(windowStart);
      if (this.count(windowStart) >= this.limits.maxAutoFixes) return false;
      record.run(nowMs);
      return true;
    });
    this.acquire = (nowMs) => transaction.immediate(nowMs);
  }

  private count(windowStart: number): number {
    return this.countSince.get(windowStart)?.count ?? 0;
  }

  async countInWindow(now: Date): Promise<number> {
    return this.guard("count automatic fixes", () => this.count(now.getTime() - this.windowMs));
  }

  async tryAcquire(now: Date): Promise<boolean> {
    return this.guard("record an automatic fix", () => this.acquire(now.getTime()));
  }

  private guard<T>(action: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw new RateLimitStoreError(`rate limiter could not ${action} in SQLite`, { cause: error });
    }
  }
}
