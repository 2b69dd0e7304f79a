/**
 * Child process for the SQLite multi-process test: opens the shared log file, prints "ready", waits for a line on
 * stdin (so every worker starts appending at the same moment, after its slow module loading), then appends
 * `count` drafts one by one.
 * Usage: node --import tsx test/support/log-append-worker.ts <db path> <worker id> <count>
 */
import { once } from "node:events";
import { setTimeout as pause } from "node:timers/promises";
import { SqliteLogStore } from "@hipaa-remediate/core";
import { sampleLogDraft } from "./log-drafts";

const [path, workerId, countText] = process.argv.slice(2);
if (!path || !workerId || !countText) {
  process.stderr.write("usage: log-append-worker.ts <db path> <worker id> <count>\n");
  process.exit(2);
}
const count = Number(countText);
const store = SqliteLogStore.open(path);
try {
  process.stdout.write("ready\n");
  await once(process.stdin, "data");
  process.stdin.pause();
  for (let n = 1; n <= count; n += 1) {
    await store.append(sampleLogDraft(n, { eventId: `worker-${workerId}-${n}`, source: `worker-${workerId}` }));
    // Let go of the write lock for a moment, as the engine does between events, so the workers interleave.
    await pause(1);
  }
} finally {
  await store.close();
}
