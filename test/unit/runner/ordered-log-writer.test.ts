import { setTimeout as delay } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  openDatabase,
  SqliteLogStore,
  UnloggableEntryError,
  verifyChain,
  type LogDraft,
  type LogEntry,
  type LogStore,
} from "@hipaa-remediate/core";
import { OrderedLogWriter } from "../../../packages/core/src/runner/ordered-log-writer";
import { collect, sampleLogDraft } from "../../support/log-drafts";

class LogWriteRefused extends Error {
  constructor(reason: string) {
    super(`refused to write ${reason}`);
    this.name = "LogWriteRefused";
  }
}

/**
 * A real SQLite log behind a slow, fault-injecting front: each write takes a few milliseconds (a network store's
 * round trip), one that holds an entry whose reason is in `refuse` fails whole, and the front notes the reasons
 * of each write it was asked for and whether two writes ever overlapped.
 */
class SlowLog implements Pick<LogStore, "appendAll"> {
  readonly store = new SqliteLogStore(openDatabase(":memory:"));
  readonly refuse = new Set<string>();
  inFlight = 0;
  mostInFlight = 0;
  /** The reasons of each write asked for, one array per write. */
  writes: string[][] = [];

  async appendAll(drafts: readonly LogDraft[]): Promise<LogEntry[]> {
    this.inFlight += 1;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    const reasons = drafts.map((d) => d.reason ?? "");
    this.writes.push(reasons);
    try {
      // Later writes take less time, so that a writer that let them overlap would get them out of order.
      await delay(Math.max(1, 8 - this.writes.length));
      const refused = reasons.find((reason) => this.refuse.has(reason));
      if (refused !== undefined) throw new LogWriteRefused(refused);
      return await this.store.appendAll(drafts);
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
  it("returns at once and writes the entries issued before a flush in one write, in the order they were issued", async () => {
    const writer = new OrderedLogWriter(log);
    for (const reason of ["received", "finding", "decision", "applying"]) writer.append(draft(reason));
    await delay(20);
    expect(log.writes).toEqual([]);
    await writer.flush();
    expect(await log.reasons()).toEqual(["received", "finding", "decision", "applying"]);
    expect(log.writes).toEqual([["received", "finding", "decision", "applying"]]);
    expect(await verifyChain(log.store.read())).toMatchObject({ ok: true });
  });

  it("writePending starts a write without waiting; the entries issued after it are written after it, never alongside", async () => {
    const writer = new OrderedLogWriter(log);
    writer.append(draft("applied"));
    writer.writePending();
    await delay(0);
    expect(log.writes).toEqual([["applied"]]);
    writer.append(draft("verified"));
    await writer.flush();
    expect(log.writes).toEqual([["applied"], ["verified"]]);
    expect(log.mostInFlight).toBe(1);
    expect(await log.reasons()).toEqual(["applied", "verified"]);
  });

  it("writePendingWithin shares one write with what is issued before a flush that comes in time", async () => {
    const writer = new OrderedLogWriter(log);
    writer.append(draft("applied"));
    writer.writePendingWithin(300);
    await delay(5);
    expect(log.writes).toEqual([]);
    writer.append(draft("verified"));
    await writer.flush();
    expect(log.writes).toEqual([["applied", "verified"]]);
    // The deadline went with the write that took its entries: nothing more is written when it passes.
    await delay(350);
    expect(log.writes).toEqual([["applied", "verified"]]);
  });

  it("writePendingWithin writes the entries on their own at the deadline when no flush comes, and an earlier deadline stands", async () => {
    const writer = new OrderedLogWriter(log);
    writer.append(draft("applied"));
    writer.writePendingWithin(100);
    writer.writePendingWithin(10_000);
    await delay(10);
    expect(log.writes).toEqual([]);
    await delay(200);
    expect(log.writes).toEqual([["applied"]]);
    writer.append(draft("verified"));
    await writer.flush();
    expect(log.writes).toEqual([["applied"], ["verified"]]);
    expect(await log.reasons()).toEqual(["applied", "verified"]);
  });

  it("rethrows the first failure on flush, and writes nothing issued after it", async () => {
    const writer = new OrderedLogWriter(log);
    log.refuse.add("finding").add("applying");
    writer.append(draft("received"));
    writer.writePending();
    writer.append(draft("finding"));
    writer.writePending();
    writer.append(draft("decision"));
    writer.append(draft("applying"));
    await expect(writer.flush()).rejects.toThrow("refused to write finding");
    // Once failed, it stays failed: a later flush reports the same first failure and nothing more is written.
    writer.append(draft("verified"));
    await expect(writer.flush()).rejects.toThrow("refused to write finding");
    expect(log.writes).toEqual([["received"], ["finding"]]);
    expect(await log.reasons()).toEqual(["received"]);
  });

  it("refuses an entry the log would refuse for what it holds when it is issued, leaving the others to be written", async () => {
    const writer = new OrderedLogWriter(log);
    writer.append(draft("received"));
    expect(() => writer.append({ ...draft("finding"), details: { password: "hunter2" } })).toThrow(UnloggableEntryError);
    await writer.flush();
    expect(log.writes).toEqual([["received"]]);
  });

  it("leaves no unhandled rejection when a failed write is not flushed for a while", async () => {
    const writer = new OrderedLogWriter(log);
    log.refuse.add("received");
    writer.append(draft("received"));
    writer.writePending();
    writer.append(draft("finding"));
    await delay(40);
    expect(unhandled).toEqual([]);
    await expect(writer.flush()).rejects.toBeInstanceOf(LogWriteRefused);
  });

  it("hasWritten says which stages are in the log: only once their write has landed", async () => {
    const writer = new OrderedLogWriter(log);
    writer.append({ ...draft("applying"), stage: "applying" });
    expect(writer.hasWritten("applying")).toBe(false);
    await writer.flush();
    expect(writer.hasWritten("applying")).toBe(true);

    const refused = new OrderedLogWriter(log);
    log.refuse.add("verified");
    refused.append({ ...draft("verified"), stage: "verified" });
    await expect(refused.flush()).rejects.toBeInstanceOf(LogWriteRefused);
    expect(refused.hasWritten("verified")).toBe(false);
  });

  it("run leaves the entries of a work that succeeded to the caller's flush, and writes them when it throws", async () => {
    const writer = new OrderedLogWriter(log);
    expect(await writer.run(async () => (writer.append(draft("verified")), "done"))).toBe("done");
    expect(log.writes).toEqual([]);
    await writer.flush();
    await expect(
      writer.run(async () => {
        writer.append(draft("failed"));
        throw new Error("verify failed");
      }),
    ).rejects.toThrow("verify failed");
    expect(log.writes).toEqual([["verified"], ["failed"]]);
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

  it("finish reports a write that failed before the work threw, as awaiting each append would have", async () => {
    const writer = new OrderedLogWriter(log);
    log.refuse.add("finding");
    const work = writer.finish(async () => {
      writer.append(draft("finding"));
      writer.writePending();
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

  it("a writer after another carries the other's unwritten entries in its first write, and their failure is both's", async () => {
    const event = new OrderedLogWriter(log);
    event.append(draft("received"));
    const unit = new OrderedLogWriter(log, event);
    unit.append(draft("finding"));
    // The event's flush waits for the unit's write that carries `received`.
    const unitFlushed = unit.flush();
    await event.flush();
    expect(log.writes).toEqual([["received", "finding"]]);
    await unitFlushed;

    // A second unit of the same event has nothing to carry: its failure is its own.
    log.refuse.add("second finding");
    const second = new OrderedLogWriter(log, event);
    second.append(draft("second finding"));
    await expect(second.flush()).rejects.toThrow("refused to write second finding");
    await expect(event.flush()).resolves.toBeUndefined();

    log.refuse.add("received again");
    const failedEvent = new OrderedLogWriter(log);
    failedEvent.append(draft("received again"));
    const failedUnit = new OrderedLogWriter(log, failedEvent);
    failedUnit.append(draft("finding again"));
    await expect(failedUnit.flush()).rejects.toThrow("refused to write received again");
    await expect(failedEvent.flush()).rejects.toThrow("refused to write received again");
    expect(await log.reasons()).toEqual(["received", "finding"]);
    expect(log.mostInFlight).toBe(1);
  });

  it("a writer after another leaves the other's entries to it until its own first write", async () => {
    // The unit of work failed before it wrote anything (its first read threw): the event still writes `received`.
    const event = new OrderedLogWriter(log);
    event.append(draft("received"));
    const unit = new OrderedLogWriter(log, event);
    unit.append(draft("finding"));
    await event.flush();
    expect(log.writes).toEqual([["received"]]);
    // What the unit then writes comes after, never alongside.
    await unit.flush();
    expect(log.writes).toEqual([["received"], ["finding"]]);
    expect(log.mostInFlight).toBe(1);
  });

  it("a writer after another that has already written waits for that write, and takes its failure", async () => {
    const event = new OrderedLogWriter(log);
    log.refuse.add("received");
    event.append(draft("received"));
    event.writePending();
    const unit = new OrderedLogWriter(log, event);
    unit.append(draft("finding"));
    await expect(unit.flush()).rejects.toThrow("refused to write received");
    expect(log.writes).toEqual([["received"]]);
  });
});
