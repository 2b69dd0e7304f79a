import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { RateLimitStoreError, SqliteRateLimiter, openDatabase, type SqliteDatabase } from "@hipaa-remediate/core";
import { burst, busiestWindow, grantedTimes } from "../../support/rate-limit-burst";

const limits = { maxAutoFixes: 3, windowMinutes: 10 };
const T0 = new Date("2026-06-15T12:00:00Z");
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

const opened: SqliteDatabase[] = [];
function database(path = ":memory:"): SqliteDatabase {
  const db = openDatabase(path);
  opened.push(db);
  return db;
}
afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
});

describe("SqliteRateLimiter", () => {
  it("grants automatic fixes up to the cap, then refuses", async () => {
    const limiter = new SqliteRateLimiter(database(), limits);
    expect(await limiter.countInWindow(T0)).toBe(0);
    const grants = [];
    for (let i = 0; i < 5; i++) grants.push(await limiter.tryAcquire(minutes(i)));
    expect(grants).toEqual([true, true, true, false, false]);
    expect(await limiter.countInWindow(minutes(4))).toBe(3);
  });

  it("counts over a sliding window: a fix leaves the count once it is older than the window", async () => {
    const limiter = new SqliteRateLimiter(database(), limits);
    await limiter.tryAcquire(minutes(0));
    await limiter.tryAcquire(minutes(5));
    await limiter.tryAcquire(minutes(6));
    expect(await limiter.tryAcquire(minutes(9))).toBe(false);
    expect(await limiter.countInWindow(minutes(10))).toBe(2);
    expect(await limiter.tryAcquire(minutes(10))).toBe(true);
    expect(await limiter.countInWindow(minutes(16))).toBe(1);
  });

  it("a burst across a fixed-window boundary gets at most the cap in any window length", async () => {
    const limiter = new SqliteRateLimiter(database(), limits);
    // Three fixes just before 12:10 and a burst right after: a fixed window would grant three more at 12:10.
    const attempts = [...burst(minutes(9), 3), ...burst(minutes(10), 5), ...burst(minutes(19), 3), ...burst(minutes(20), 3)];
    const granted = await grantedTimes(limiter, attempts);
    expect(busiestWindow(granted, limits.windowMinutes * 60_000)).toBe(3);
    expect(granted).toEqual([...burst(minutes(9), 3), ...burst(minutes(19), 3)].map((d) => d.getTime()));
  });

  it("holds the cap across engines that share one database file", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "rate-limit-")), "engine.db");
    const first = new SqliteRateLimiter(database(path), limits);
    const second = new SqliteRateLimiter(database(path), limits);
    const grants = await Promise.all([first, second, first, second, first, second].map((limiter) => limiter.tryAcquire(T0)));
    expect(grants.filter(Boolean)).toHaveLength(3);
    expect(await first.countInWindow(T0)).toBe(3);
    expect(await second.countInWindow(T0)).toBe(3);
  });

  it("never exceeds the cap when separate processes race for the last slots", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "rate-limit-")), "engine.db");
    // Create the table once, so the racing processes only contend for slots.
    new SqliteRateLimiter(database(path), limits);
    const tsx = join(import.meta.dirname, "../../../node_modules/.bin/tsx");
    const script = join(import.meta.dirname, "sqlite-acquire-process.ts");
    const run = promisify(execFile);
    const startAt = String(Date.now() + 3_000);
    const results = await Promise.all(Array.from({ length: 4 }, () => run(tsx, [script, path, "1000", "500", startAt])));
    const granted = results.map((result) => Number(result.stdout));
    expect(granted.reduce((sum, n) => sum + n, 0)).toBe(1000);
  });

  it("a cap of 0 grants nothing", async () => {
    const limiter = new SqliteRateLimiter(database(), { maxAutoFixes: 0, windowMinutes: 10 });
    expect(await limiter.tryAcquire(T0)).toBe(false);
  });

  it("keeps its own table in the shared database", () => {
    const db = database();
    new SqliteRateLimiter(db, limits);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables).toContainEqual({ name: "rate_limit_events" });
  });

  it("reports a store failure as a RateLimitStoreError that keeps the cause", async () => {
    const db = database();
    const limiter = new SqliteRateLimiter(db, limits);
    db.close();
    const error = await limiter.tryAcquire(T0).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitStoreError);
    expect((error as RateLimitStoreError).cause).toBeInstanceOf(Error);
  });
});
