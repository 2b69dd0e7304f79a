import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, SqliteLogStore, verifyChain } from "@hipaa-remediate/core";
import { appendSamples, collect } from "../../support/log-drafts";
import { describeLogStoreContract } from "../../support/log-store-contract";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const worker = join(repoRoot, "test/support/log-append-worker.ts");

const tempDirs: string[] = [];
function tempDbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "hipaa-log-"));
  tempDirs.push(dir);
  return join(dir, "engine.db");
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function startWorker(path: string, id: string, count: number): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ["--import", "tsx", worker, path, id, String(count)], { cwd: repoRoot });
}

function waitForReady(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      if (output.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`worker exited before it was ready (exit code ${code})`)));
  });
}

/** Call right after spawning, so the exit event cannot be missed. */
async function waitForExit(child: ChildProcessWithoutNullStreams): Promise<void> {
  let errors = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => (errors += chunk));
  const [code]: unknown[] = await once(child, "exit");
  if (code !== 0) throw new Error(`worker failed with exit code ${String(code)}: ${errors}`);
}

describeLogStoreContract("SqliteLogStore", async () => {
  const store = SqliteLogStore.open(tempDbPath(), { pageSize: 7 });
  return { store, cleanup: () => store.close() };
});

describe("SqliteLogStore", () => {
  it("keeps one valid chain when four processes append to the same file at once", async () => {
    const path = tempDbPath();
    // Create the schema first so the children race on appends, not on CREATE TABLE.
    await SqliteLogStore.open(path).close();
    const workers = ["1", "2", "3", "4"].map((id) => startWorker(path, id, 100));
    const exits = workers.map(waitForExit);
    await Promise.all(workers.map(waitForReady));
    // Release them together so their appends interleave.
    for (const child of workers) child.stdin.end("go\n");
    await Promise.all(exits);

    const store = SqliteLogStore.open(path);
    try {
      expect(await verifyChain(store.read())).toMatchObject({ ok: true, checked: 400, head: { seq: 400 } });
      const entries = await collect(store.read());
      for (const id of ["1", "2", "3", "4"]) {
        const mine = entries.filter((entry) => entry.source === `worker-${id}`).map((entry) => entry.eventId);
        // Each worker appended sequentially, so its entries keep its order.
        expect(mine).toEqual(Array.from({ length: 100 }, (_, i) => `worker-${id}-${i + 1}`));
      }
    } finally {
      await store.close();
    }
  });

  it("reopening the file continues the same chain", async () => {
    const path = tempDbPath();
    const first = SqliteLogStore.open(path);
    await appendSamples(first, 3);
    await first.close();
    const second = SqliteLogStore.open(path);
    const [fourth] = await appendSamples(second, 1, 4);
    expect(fourth?.seq).toBe(4);
    expect(await verifyChain(second.read())).toMatchObject({ ok: true, checked: 4 });
    await second.close();
  });

  it("leaves a shared connection open on close, and closes one it opened", async () => {
    const db = openDatabase(tempDbPath());
    const shared = new SqliteLogStore(db);
    await appendSamples(shared, 1);
    await shared.close();
    expect(db.open).toBe(true);
    db.close();

    const owned = SqliteLogStore.open(tempDbPath());
    await owned.close();
    await expect(owned.head()).rejects.toThrow(/not open/);
  });

  it("lets a slow reader and an appender share one connection", async () => {
    const store = SqliteLogStore.open(tempDbPath(), { pageSize: 2 });
    await appendSamples(store, 5);
    const seen: number[] = [];
    for await (const entry of store.read({ limit: 5 })) {
      seen.push(entry.seq);
      if (entry.seq === 1) await appendSamples(store, 1, 6);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect((await store.head())?.seq).toBe(6);
    await store.close();
  });
});
