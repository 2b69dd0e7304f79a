/**
 * Run as a separate process by sqlite-rate-limiter.test.ts: one "engine" that tries to take `attempts`
 * automatic-fix slots from a shared database file, and prints how many it got.
 */
// Direct module imports rather than the package index keep this process's start-up short.
import { SqliteRateLimiter } from "../../../packages/core/src/policy/sqlite-rate-limiter";
import { openDatabase } from "../../../packages/core/src/support/sqlite";

const [path, cap, attempts, startAt] = process.argv.slice(2);
if (path === undefined || cap === undefined || attempts === undefined || startAt === undefined) {
  throw new Error("usage: <db path> <cap> <attempts> <start at, epoch ms>");
}
const db = openDatabase(path);
const limiter = new SqliteRateLimiter(db, { maxAutoFixes: Number(cap), windowMinutes: 60 });
const now = new Date("2026-06-15T12:00:00Z");
// Every process starts at the same moment, so their attempts overlap instead of running one after another.
while (Date.now() < Number(startAt)) await new Promise((resolve) => setTimeout(resolve, 5));
let granted = 0;
for (let i = 0; i < Number(attempts); i++) if (await limiter.tryAcquire(now)) granted++;
db.close();
process.stdout.write(String(granted));
