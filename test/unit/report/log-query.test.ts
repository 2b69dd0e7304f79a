import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, queryLog, SqliteLogStore, type LogPage } from "@hipaa-remediate/core";
import { sampleLogDraft } from "../../support/log-drafts";

const ENTRIES = 600;
const seqs = (page: LogPage) => page.entries.map((entry) => entry.seq);
const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

describe("queryLog paging backwards and forwards", () => {
  let log: SqliteLogStore;

  beforeEach(async () => {
    // Small store pages, so a read crosses several of them.
    log = new SqliteLogStore(openDatabase(":memory:"), { pageSize: 40 });
    // Entry n is at n seconds past midnight; every tenth is "verified", every hundredth "failed".
    for (let n = 1; n <= ENTRIES; n += 1) {
      await log.append(sampleLogDraft(n, { stage: n % 100 === 0 ? "failed" : n % 10 === 0 ? "verified" : "proposed" }));
    }
  });
  afterEach(async () => {
    await log.close();
  });

  it("gives the last page and walks back from it, with cursors both ways", async () => {
    const last = await queryLog(log, { filter: {}, limit: 25, last: true });
    expect(seqs(last)).toEqual(range(576, 600));
    expect(last).toMatchObject({ previousBeforeSeq: 576, scanned: 25, budgetExhausted: false });
    expect(last.nextAfterSeq).toBeUndefined();
    const before = await queryLog(log, { filter: {}, limit: 25, beforeSeq: 576 });
    expect(seqs(before)).toEqual(range(551, 575));
    expect(before.nextAfterSeq).toBe(575);
    const beyondHead = await queryLog(log, { filter: {}, limit: 10, beforeSeq: 10_000 });
    expect(seqs(beyondHead)).toEqual(range(591, 600));
    expect(beyondHead.nextAfterSeq).toBeUndefined();
    const start = await queryLog(log, { filter: {}, limit: 25, beforeSeq: 20 });
    expect(seqs(start)).toEqual(range(1, 19));
    expect(start.previousBeforeSeq).toBeUndefined();
  });

  it("filters backwards, keeping the newest matches and saying whether older ones may exist", async () => {
    const last = await queryLog(log, { filter: { stage: "verified" }, limit: 5, last: true });
    expect(seqs(last)).toEqual([550, 560, 570, 580, 590]);
    expect(last.previousBeforeSeq).toBe(550);
    const oldest = await queryLog(log, { filter: { stage: "verified" }, limit: 5, beforeSeq: 60 });
    expect(seqs(oldest)).toEqual([10, 20, 30, 40, 50]);
    expect(oldest.previousBeforeSeq).toBeUndefined();
  });

  it("stops a rare backward search at the scan budget and hands back where to carry on", async () => {
    const last = await queryLog(log, { filter: { stage: "failed" }, limit: 5, last: true, scanBudget: 20 });
    expect(last).toMatchObject({ scanned: 20, budgetExhausted: true, previousBeforeSeq: 600 });
    expect(seqs(last)).toEqual([600]);
    const further = await queryLog(log, { filter: { stage: "failed" }, limit: 5, beforeSeq: 600, scanBudget: 20 });
    expect(further).toMatchObject({ entries: [], scanned: 20, budgetExhausted: true, previousBeforeSeq: 580, nextAfterSeq: 599 });
  });

  it("pages a date range from its last page, never past its end", async () => {
    const filter = { from: new Date("2025-01-01T00:02:00Z"), to: new Date("2025-01-01T00:05:00Z") };
    const last = await queryLog(log, { filter, limit: 10, last: true });
    expect(seqs(last)).toEqual(range(290, 299));
    const previous = await queryLog(log, { filter, limit: 10, beforeSeq: 290 });
    expect(seqs(previous)).toEqual(range(280, 289));
    const first = await queryLog(log, { filter, limit: 10 });
    expect(seqs(first)).toEqual(range(120, 129));
    expect(first.previousBeforeSeq).toBeUndefined();
    const second = await queryLog(log, { filter, limit: 10, afterSeq: 129 });
    expect(second.previousBeforeSeq).toBe(130);
  });

  it("answers an empty log with an empty last page", async () => {
    const empty = new SqliteLogStore(openDatabase(":memory:"));
    expect(await queryLog(empty, { filter: {}, limit: 10, last: true })).toEqual({ entries: [], scanned: 0, budgetExhausted: false });
    await empty.close();
  });
});
