import { beforeEach, describe, expect, it } from "vitest";
import {
  canonicalJson,
  chainLink,
  nextEntry,
  openDatabase,
  SqliteLogStore,
  verifyChain,
  type LogEntry,
  type SqliteDatabase,
} from "@hipaa-remediate/core";
import { appendSamples, sampleLogDraft } from "../../support/log-drafts";

/*
 * An attacker with write access to the SQLite file tampers with rows directly. verifyChain must name the first
 * entry that betrays it.
 */
let db: SqliteDatabase;
let store: SqliteLogStore;
let original: LogEntry[];

beforeEach(async () => {
  db = openDatabase(":memory:");
  store = new SqliteLogStore(db, { pageSize: 3 });
  original = await appendSamples(store, 8);
  return () => db.close();
});

function entryAt(seq: number): LogEntry {
  const entry = original[seq - 1];
  if (!entry) throw new Error(`no entry ${seq} in the fixture`);
  return entry;
}

function insertRow(seq: number, entry: LogEntry): void {
  db.prepare("INSERT INTO log_entries (seq, entry, event_id, hash) VALUES (?, ?, ?, ?)").run(
    seq,
    canonicalJson(entry),
    entry.eventId ?? null,
    entry.hash,
  );
}

function replaceRow(seq: number, entry: LogEntry): void {
  db.prepare("UPDATE log_entries SET entry = ?, hash = ? WHERE seq = ?").run(canonicalJson(entry), entry.hash, seq);
}

describe("tampering with the SQLite log", () => {
  it("an untouched log verifies", async () => {
    expect(await verifyChain(store.read())).toEqual({ ok: true, checked: 8, head: chainLink(entryAt(8)) });
  });

  it("one edited byte names that entry as edited", async () => {
    const changed = db.prepare("UPDATE log_entries SET entry = replace(entry, '(#4)', '(#5)') WHERE seq = 4").run().changes;
    expect(changed).toBe(1);
    const report = await verifyChain(store.read());
    expect(report).toMatchObject({
      ok: false,
      checked: 3,
      head: chainLink(entryAt(3)),
      firstBad: { seq: 4, position: 3, problem: "edited" },
    });
    expect(report.firstBad?.detail).toContain(entryAt(4).hash);
  });

  it("a row that is no longer JSON is reported as edited, not as a crash", async () => {
    db.prepare("UPDATE log_entries SET entry = substr(entry, 2) WHERE seq = 5").run();
    expect(await verifyChain(store.read())).toMatchObject({
      ok: false,
      checked: 4,
      firstBad: { seq: 5, position: 4, problem: "edited", detail: "log entry stored at seq 5 is not valid JSON" },
    });
  });

  it("a deleted row names the entry after the gap as missing its predecessor", async () => {
    db.prepare("DELETE FROM log_entries WHERE seq = 4").run();
    const report = await verifyChain(store.read());
    expect(report).toMatchObject({ ok: false, checked: 3, firstBad: { seq: 5, position: 3, problem: "missing" } });
    expect(report.firstBad?.detail).toBe("seq 4 is missing: seq 3 is followed by seq 5");
  });

  it("a deleted first row is caught too", async () => {
    db.prepare("DELETE FROM log_entries WHERE seq = 1").run();
    expect(await verifyChain(store.read())).toMatchObject({
      ok: false,
      checked: 0,
      firstBad: { seq: 2, position: 0, problem: "missing" },
    });
  });

  it("two swapped rows are reported as reordered", async () => {
    db.exec(`
      UPDATE log_entries SET seq = -3 WHERE seq = 3;
      UPDATE log_entries SET seq = 3 WHERE seq = 6;
      UPDATE log_entries SET seq = 6 WHERE seq = -3;
    `);
    const report = await verifyChain(store.read());
    expect(report).toMatchObject({ ok: false, checked: 2, firstBad: { seq: 6, position: 2, problem: "reordered" } });
    expect(report.firstBad?.detail).toContain("seq 3 appears later, at position 5");
  });

  it("a forged row slipped into the middle, with a valid hash and link, is named as inserted", async () => {
    const forged = nextEntry(chainLink(entryAt(3)), sampleLogDraft(99, { stage: "approved", reason: "forged" }));
    // Make room at seq 4 the way an attacker would: shift the newer rows up by one.
    db.exec("UPDATE log_entries SET seq = -seq WHERE seq >= 4; UPDATE log_entries SET seq = 1 - seq WHERE seq < 0;");
    insertRow(4, forged);
    const report = await verifyChain(store.read());
    expect(report).toMatchObject({
      ok: false,
      checked: 3,
      head: chainLink(entryAt(3)),
      firstBad: { seq: 4, position: 3, problem: "inserted" },
    });
    expect(report.firstBad?.detail).toContain("the first was inserted");
  });

  it("an entry replaced with a self-consistent forgery breaks the link from its successor", async () => {
    replaceRow(4, nextEntry(chainLink(entryAt(3)), sampleLogDraft(4, { reason: "nothing to see" })));
    expect(await verifyChain(store.read())).toMatchObject({
      ok: false,
      checked: 4,
      firstBad: { seq: 5, position: 4, problem: "broken-link" },
    });
  });

  it("a truncated tail passes on its own but is caught against the recorded head", async () => {
    const recorded = await verifyChain(store.read());
    db.prepare("DELETE FROM log_entries WHERE seq >= 7").run();
    // The limitation: a shorter chain is still a valid chain.
    expect(await verifyChain(store.read())).toMatchObject({ ok: true, checked: 6 });
    const report = await verifyChain(store.read(), { expectedHead: recorded.head });
    expect(report).toMatchObject({
      ok: false,
      checked: 6,
      head: chainLink(entryAt(6)),
      firstBad: { seq: 8, position: 6, problem: "missing" },
    });
  });

  it("a rewrite with every hash recomputed is caught against the recorded head", async () => {
    const recorded = await verifyChain(store.read());
    let previous = chainLink(entryAt(4));
    for (let seq = 5; seq <= 8; seq += 1) {
      const rewritten = nextEntry(previous, sampleLogDraft(seq, { reason: "rewritten" }));
      replaceRow(seq, rewritten);
      previous = chainLink(rewritten);
    }
    expect(await verifyChain(store.read())).toMatchObject({ ok: true, checked: 8 });
    expect(await verifyChain(store.read(), { expectedHead: recorded.head })).toMatchObject({
      ok: false,
      checked: 7,
      firstBad: { seq: 8, position: 7, problem: "edited" },
    });
  });

  it("new entries appended after the recorded head still verify", async () => {
    const recorded = await verifyChain(store.read());
    await appendSamples(store, 2, 9);
    expect(await verifyChain(store.read(), { expectedHead: recorded.head })).toMatchObject({ ok: true, checked: 10 });
  });
});
