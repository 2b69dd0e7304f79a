import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger, type LogDraft, type LogEntry, type LogPage, type LogStore, type ReadOptions } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { startApprovalsServer, type ApprovalsServer } from "../../../packages/cli/src/local/approvals-server";
import { openLocalEngine, type LocalEngine } from "../../../packages/cli/src/local/engine";
import { fillLargeLog } from "../../support/large-log";
import { rawRequest } from "../../support/local-runner";

const ENTRIES = 100_000;
const PAGE = 50;

/** One `read` the audit API made, with the rows it asked for and the rows it took. */
interface ReadCall {
  options: ReadOptions | undefined;
  rows: number;
}

/** The engine's own store, with every read recorded: what the server asked the store for is what gets counted. */
class RecordingLogStore implements LogStore {
  calls: ReadCall[] = [];
  constructor(private readonly inner: LogStore) {}
  append(draft: LogDraft): Promise<LogEntry> {
    return this.inner.append(draft);
  }
  appendAll(drafts: readonly LogDraft[]): Promise<LogEntry[]> {
    return this.inner.appendAll(drafts);
  }
  async *read(options?: ReadOptions): AsyncIterable<LogEntry> {
    const call: ReadCall = { options, rows: 0 };
    this.calls.push(call);
    for await (const entry of this.inner.read(options)) {
      call.rows += 1;
      yield entry;
    }
  }
  head(): Promise<LogEntry | undefined> {
    return this.inner.head();
  }
  byEvent(eventId: string): Promise<LogEntry[]> {
    return this.inner.byEvent(eventId);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe("the audit API pages through 100,000 entries without loading them", { timeout: 300_000 }, () => {
  let dir: string;
  let engine: LocalEngine;
  let server: ApprovalsServer;
  let log: RecordingLogStore;
  let entries: LogEntry[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "audit-paging-"));
    engine = await openLocalEngine({ dbPath: join(dir, "engine.db"), logger: silentLogger });
    entries = await fillLargeLog(engine, ENTRIES);
    log = new RecordingLogStore(engine.deps.log);
    server = await startApprovalsServer({
      engine: { ...engine.deps, log },
      operator: { id: "olivia", name: "Olivia Ops" },
      port: 0,
      housekeepingIntervalMs: 0,
      audit: { store: "sqlite:test", policySource: "built-in default policy" },
    });
  });
  afterAll(async () => {
    await server.close();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    log.calls = [];
  });

  async function entriesPage(query: string): Promise<LogPage> {
    const response = await rawRequest(`${server.url}/api/audit/entries?${query}`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(response.status).toBe(200);
    return response.json() as LogPage;
  }

  const seqs = (page: LogPage) => page.entries.map((entry) => entry.seq);
  const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

  /** Every read bounded by a limit, and the limits together no more than a page and one. */
  function expectAtMostOnePageRead(): void {
    expect(log.calls.length).toBeGreaterThan(0);
    for (const call of log.calls) expect(call.options?.limit).toBeDefined();
    const asked = log.calls.reduce((sum, call) => sum + (call.options?.limit ?? Number.POSITIVE_INFINITY), 0);
    const taken = log.calls.reduce((sum, call) => sum + call.rows, 0);
    expect(asked).toBeLessThanOrEqual(PAGE + 1);
    expect(taken).toBeLessThanOrEqual(PAGE + 1);
  }

  it("holds a verified chain of 100,000 entries", async () => {
    const response = await rawRequest(`${server.url}/api/audit/chain`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(response.json()).toMatchObject({ ok: true, checked: ENTRIES, head: { seq: ENTRIES, hash: entries.at(-1)?.hash } });
  });

  it("walks first, next, a middle page, last and previous from last, each reading at most a page and one", async () => {
    const first = await entriesPage(`limit=${PAGE}`);
    expect(seqs(first)).toEqual(range(1, PAGE));
    expect(first.nextAfterSeq).toBe(PAGE);
    expect(first.previousBeforeSeq).toBeUndefined();
    expect(first.entries[0]).toEqual(entries[0]);
    expectAtMostOnePageRead();

    log.calls = [];
    const second = await entriesPage(`limit=${PAGE}&after=${first.nextAfterSeq}`);
    expect(seqs(second)).toEqual(range(PAGE + 1, 2 * PAGE));
    expect(second.previousBeforeSeq).toBe(PAGE + 1);
    expectAtMostOnePageRead();

    log.calls = [];
    const middle = await entriesPage(`limit=${PAGE}&after=${ENTRIES / 2}`);
    expect(seqs(middle)).toEqual(range(ENTRIES / 2 + 1, ENTRIES / 2 + PAGE));
    expect(middle.entries).toEqual(entries.slice(ENTRIES / 2, ENTRIES / 2 + PAGE));
    expectAtMostOnePageRead();

    log.calls = [];
    const backFromMiddle = await entriesPage(`limit=${PAGE}&before=${middle.previousBeforeSeq}`);
    expect(seqs(backFromMiddle)).toEqual(range(ENTRIES / 2 - PAGE + 1, ENTRIES / 2));
    expect(backFromMiddle.nextAfterSeq).toBe(ENTRIES / 2);
    expectAtMostOnePageRead();

    log.calls = [];
    const last = await entriesPage(`limit=${PAGE}&last=1`);
    expect(seqs(last)).toEqual(range(ENTRIES - PAGE + 1, ENTRIES));
    expect(last.nextAfterSeq).toBeUndefined();
    expect(last.previousBeforeSeq).toBe(ENTRIES - PAGE + 1);
    expect(last.entries.at(-1)).toEqual(entries.at(-1));
    expectAtMostOnePageRead();

    log.calls = [];
    const beforeLast = await entriesPage(`limit=${PAGE}&before=${last.previousBeforeSeq}`);
    expect(seqs(beforeLast)).toEqual(range(ENTRIES - 2 * PAGE + 1, ENTRIES - PAGE));
    expect(beforeLast.nextAfterSeq).toBe(ENTRIES - PAGE);
    expectAtMostOnePageRead();

    log.calls = [];
    const nextFromThere = await entriesPage(`limit=${PAGE}&after=${beforeLast.nextAfterSeq}`);
    expect(seqs(nextFromThere)).toEqual(seqs(last));
    expect(nextFromThere.nextAfterSeq).toBeUndefined();
    expectAtMostOnePageRead();

    log.calls = [];
    const backToFirst = await entriesPage(`limit=${PAGE}&before=${second.previousBeforeSeq}`);
    expect(seqs(backToFirst)).toEqual(range(1, PAGE));
    expect(backToFirst.previousBeforeSeq).toBeUndefined();
    expectAtMostOnePageRead();
  });

  it("filters by control and stage forwards and backwards, stopping as soon as the page is full", async () => {
    const control = controls[2];
    if (!control) throw new Error("no control");
    const expected = entries.filter((entry) => entry.control === control.id && entry.stage === "verified");
    expect(expected.length).toBeGreaterThan(3 * PAGE);
    const query = `limit=${PAGE}&control=${encodeURIComponent(control.id)}&stage=verified`;

    const first = await entriesPage(query);
    expect(first.entries).toEqual(expected.slice(0, PAGE));
    const fiftieth = expected[PAGE - 1];
    // The read ended at the match that filled the page: nothing after it was taken from the store.
    expect(log.calls.reduce((sum, call) => sum + call.rows, 0)).toBe(fiftieth?.seq);
    expect(first.nextAfterSeq).toBe(fiftieth?.seq);

    const second = await entriesPage(`${query}&after=${first.nextAfterSeq}`);
    expect(second.entries).toEqual(expected.slice(PAGE, 2 * PAGE));
    const back = await entriesPage(`${query}&before=${second.previousBeforeSeq}`);
    expect(back.entries).toEqual(expected.slice(0, PAGE));
    expect(back.previousBeforeSeq).toBeUndefined();

    const last = await entriesPage(`${query}&last=1`);
    expect(last.entries).toEqual(expected.slice(-PAGE));
    expect(last.nextAfterSeq).toBeUndefined();
    const beforeLast = await entriesPage(`${query}&before=${last.previousBeforeSeq}`);
    expect(beforeLast.entries).toEqual(expected.slice(-2 * PAGE, -PAGE));
  });

  it("refuses two cursors at once with the field to fix", async () => {
    const response = await rawRequest(`${server.url}/api/audit/entries?after=10&last=1`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ field: "query.after" });
    expect(log.calls).toEqual([]);
  });
});
