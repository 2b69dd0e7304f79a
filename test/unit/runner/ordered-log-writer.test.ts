import { setTimeout as delay } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, SqliteLogStore, verifyChain, type LogDraft, type LogEntry, type LogStore } from "@hipaa-remediate/core";
import { OrderedLogWriter } from "../../../packages/core/src/runner/ordered-log-writer";
import { collect, sampleLogDraft } from "../../support/log-drafts";

class LogWriteRefused extends Error {
  constructor(reason: string) {
    super(`refused to write ${reason}`);
    this.name = "LogWriteRefused";
  }
}

/**
 * A real SQLite log behind a slow, fault-injecting front: each append takes a few milliseconds (a network store's
 * round trip), the ones whose reason is in `refuse` fail, and the front notes whether two appends ever overlapped.
 */
class SlowLog implements Pick<LogStore, "append"> {
  readonly store = new SqliteLogStore(openDatabase(":memory:"));
  readonly refuse = new Set<string>();
  inFlight = 0;
  mostInFlight = 0;
  attempted: string[] = [];

  async append(draft: LogDraft): Promise<LogEntry> {
    this.inFlight += 1;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    this.attempted.push(draft.reason ?? "");
    try {
      // Later entries take less time, so that a writer that let them overlap would get them out of order.
      await delay(Math.max(1, 8 - this.attempted.length));
      if (draft.reason && this.refuse.has(draft.reason)) throw new LogWriteRefused(draft.reason);
      return await this.store.append(draft);
    } finally {
      this.inFlight -= 1;
    }
  }

  async reasons(): Promise<string[]> {
    return (await collect(this.store.read())).map((entry) => entry.reason ?? "");
  }
}

const draft = (reason: string): LogDraft => sampleLogDraft(1, { reason });

let log: SlowLog;
const unhandled: unknown[] = [];
const noteUnhandled = (reason: unknown) => unhandled.push(reason);

beforeEach(() => {
  log = new SlowLog();
  unhandled.length = 0;
  process.on("unhandledRejection", noteUnhandled);
});

afterEach(async () => {
  process.off("unhandledRejection", noteUnhandled);
  await log.store.close();
});

describe("OrderedLogWriter", () => {
  it("returns at once and writes the entries one at a time, in the order they were issued", async () => {
    const writer = new OrderedLogWriter(log);
    for (const reason of ["received", "finding", "decision", "applying"]) writer.append(draft(reason));
    expect(await log.reasons()).toEqual([]);
    await writer.flush();
    expect(await log.reasons()).toEqual(["received", "finding", "decision", "applying"]);
    expect(log.mostInFlight).toBe(1);
    expect(await verifyChain(log.store.read())).toMatchObject({ ok: true });
  });

  it("rethrows the first failure on flush, and writes nothing issued after it", async () => {
    const writer = new OrderedLogWriter(log);
    log.refuse.add("finding").add("applying");
    for (const reason of ["received", "finding", "decision", "applying"]) writer.append(draft(reason));
    await expect(writer.flush()).rejects.toThrow("refused to write finding");
    // Once failed, it stays failed: a later flush reports the same first failure and nothing more is written.
    writer.append(draft("verified"));
    await expect(writer.flush()).rejects.toThrow("refused to write finding");
    expect(log.attempted).toEqual(["received", "finding"]);
    expect(await log.reasons()).toEqual(["received"]);
  });

  it("leaves no unhandled rejection when a failed append is not flushed for a while", async () => {
    const writer = new OrderedLogWriter(log);
    log.refuse.add("received");
    writer.append(draft("received"));
    writer.append(draft("finding"));
    await delay(40);
    expect(unhandled).toEqual([]);
    await expect(writer.flush()).rejects.toBeInstanceOf(LogWriteRefused);
  });

  it("finish returns the work's result once every entry is written", async () => {
    const writer = new OrderedLogWriter(log);
    const result = await writer.finish(async () => {
      writer.append(draft("applied"));
      await delay(1);
      writer.append(draft("verified"));
      return "done";
    });
    expect(result).toBe("done");
    expect(await log.reasons()).toEqual(["applied", "verified"]);
  });

  it("finish reports an append that failed before the work threw, as awaiting each append would have", async () => {
    const writer = new OrderedLogWriter(log);
    log.refuse.add("finding");
    const work = writer.finish(async () => {
      writer.append(draft("finding"));
      await delay(1);
      throw new Error("the rate limiter is down");
    });
    await expect(work).rejects.toThrow("refused to write finding");
  });

  it("finish reports the work's own error once the entries issued before it are written", async () => {
    const writer = new OrderedLogWriter(log);
    const work = writer.finish(async () => {
      writer.append(draft("finding"));
      throw new Error("the rate limiter is down");
    });
    await expect(work).rejects.toThrow("the rate limiter is down");
    expect(await log.reasons()).toEqual(["finding"]);
  });

  it("a writer after another writes its entries after the other's, and takes the other's failure", async () => {
    const event = new OrderedLogWriter(log);
    event.append(draft("received"));
    const unit = new OrderedLogWriter(log, event);
    unit.append(draft("finding"));
    await unit.flush();
    expect(await log.reasons()).toEqual(["received", "finding"]);
    expect(log.mostInFlight).toBe(1);

    log.refuse.add("received again");
    const failedEvent = new OrderedLogWriter(log);
    failedEvent.append(draft("received again"));
    const failedUnit = new OrderedLogWriter(log, failedEvent);
    failedUnit.append(draft("finding again"));
    await expect(failedUnit.flush()).rejects.toThrow("refused to write received again");
    await expect(failedEvent.flush()).rejects.toThrow("refused to write received again");
    expect(log.attempted).not.toContain("finding again");
  });
});
