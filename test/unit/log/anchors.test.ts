import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import {
  anchorsPathFor,
  AnchorStoreError,
  canonicalJson,
  chainLink,
  FileAnchorStore,
  nextEntry,
  openDatabase,
  publishHead,
  SqliteLogStore,
  verifyChain,
  type Anchor,
  type LogEntry,
  type SqliteDatabase,
} from "@hipaa-remediate/core";
import { appendSamples, sampleLogDraft } from "../../support/log-drafts";

/*
 * Every classic tamper of the SQLite log, each checked once an anchor exists. The attacker has write access to the
 * database file but not to the anchors.
 */
let db: SqliteDatabase;
let store: SqliteLogStore;
let original: LogEntry[];
let anchors: FileAnchorStore;
const clock = () => new Date("2026-03-01T12:00:00.000Z");

beforeEach(async () => {
  db = openDatabase(":memory:");
  store = new SqliteLogStore(db, { pageSize: 3 });
  anchors = new FileAnchorStore(join(mkdtempSync(join(tmpdir(), "hipaa-anchors-")), "engine.anchors.jsonl"));
  original = await appendSamples(store, 8);
  await publishHead(store, anchors, clock);
  return () => db.close();
});

function entryAt(seq: number): LogEntry {
  const entry = original[seq - 1];
  if (!entry) throw new Error(`no entry ${seq} in the fixture`);
  return entry;
}

function replaceRow(seq: number, entry: LogEntry): void {
  db.prepare("UPDATE log_entries SET entry = ?, hash = ?, event_id = ? WHERE seq = ?").run(
    canonicalJson(entry),
    entry.hash,
    entry.eventId ?? null,
    seq,
  );
}

async function verifyAgainstAnchors() {
  return verifyChain(store.read(), { anchors: await anchors.list() });
}

/** Rewrites seqs from..8 with new content and a freshly computed chain, as an attacker with the code would. */
function rewriteFrom(from: number): void {
  let previous = from > 1 ? chainLink(entryAt(from - 1)) : undefined;
  for (let seq = from; seq <= 8; seq += 1) {
    const rewritten = nextEntry(previous, sampleLogDraft(seq, { reason: "rewritten" }));
    replaceRow(seq, rewritten);
    previous = chainLink(rewritten);
  }
}

describe("verify against anchors: every classic tamper is caught", () => {
  it("an untouched log matches its anchor, and the report says which anchor proves it", async () => {
    expect(await verifyAgainstAnchors()).toEqual({
      ok: true,
      checked: 8,
      head: chainLink(entryAt(8)),
      anchors: { total: 1, matched: 1, latest: { ...chainLink(entryAt(8)), at: "2026-03-01T12:00:00.000Z" } },
    });
  });

  it("an edited entry", async () => {
    db.prepare("UPDATE log_entries SET entry = replace(entry, '(#4)', '(#5)') WHERE seq = 4").run();
    expect(await verifyAgainstAnchors()).toMatchObject({ ok: false, checked: 3, firstBad: { seq: 4, problem: "edited" } });
  });

  it("a deleted entry", async () => {
    db.prepare("DELETE FROM log_entries WHERE seq = 4").run();
    expect(await verifyAgainstAnchors()).toMatchObject({ ok: false, checked: 3, firstBad: { seq: 5, problem: "missing" } });
  });

  it("an inserted entry", async () => {
    const forged = nextEntry(chainLink(entryAt(3)), sampleLogDraft(99, { stage: "approved", reason: "forged" }));
    db.exec("UPDATE log_entries SET seq = -seq WHERE seq >= 4; UPDATE log_entries SET seq = 1 - seq WHERE seq < 0;");
    db.prepare("INSERT INTO log_entries (seq, entry, event_id, hash) VALUES (4, ?, ?, ?)").run(
      canonicalJson(forged),
      forged.eventId ?? null,
      forged.hash,
    );
    expect(await verifyAgainstAnchors()).toMatchObject({ ok: false, checked: 3, firstBad: { seq: 4, problem: "inserted" } });
  });

  it("reordered entries", async () => {
    db.exec(
      "UPDATE log_entries SET seq = -3 WHERE seq = 3; UPDATE log_entries SET seq = 3 WHERE seq = 6; UPDATE log_entries SET seq = 6 WHERE seq = -3;",
    );
    expect(await verifyAgainstAnchors()).toMatchObject({ ok: false, checked: 2, firstBad: { seq: 6, problem: "reordered" } });
  });

  it("a truncated tail, which the chain alone cannot see", async () => {
    db.prepare("DELETE FROM log_entries WHERE seq >= 7").run();
    expect(await verifyChain(store.read())).toMatchObject({ ok: true, checked: 6 });
    const report = await verifyAgainstAnchors();
    expect(report).toMatchObject({
      ok: false,
      checked: 6,
      head: chainLink(entryAt(6)),
      firstBad: { seq: 8, position: 6, problem: "missing", anchor: { seq: 8, hash: entryAt(8).hash } },
      anchors: { total: 1, matched: 0 },
    });
    expect(report.firstBad?.detail).toBe(
      "the log ends at seq 6, but the anchor for seq 8 published 2026-03-01T12:00:00.000Z records seq 8: the newest entries were deleted",
    );
  });

  it("every entry deleted", async () => {
    db.prepare("DELETE FROM log_entries").run();
    expect(await verifyAgainstAnchors()).toMatchObject({ ok: false, checked: 0, firstBad: { seq: 8, problem: "missing" } });
  });

  it("a full rewrite with a recomputed chain, which the chain alone cannot see", async () => {
    rewriteFrom(1);
    expect(await verifyChain(store.read())).toMatchObject({ ok: true, checked: 8 });
    const report = await verifyAgainstAnchors();
    expect(report).toMatchObject({ ok: false, checked: 7, firstBad: { seq: 8, position: 7, problem: "edited", anchor: { seq: 8 } } });
    expect(report.firstBad?.detail).toContain(`records ${entryAt(8).hash}: the log was rewritten at or before seq 8`);
  });

  it("names the first anchor the log no longer matches, and the last one it still does", async () => {
    // Anchors at seqs 3, 5 and 8 (beforeEach published 8).
    await anchors.publish({ ...chainLink(entryAt(3)), at: "2026-02-01T00:00:00.000Z" });
    await anchors.publish({ ...chainLink(entryAt(5)), at: "2026-02-15T00:00:00.000Z" });
    rewriteFrom(4);
    const report = await verifyAgainstAnchors();
    expect(report).toMatchObject({
      ok: false,
      checked: 4,
      firstBad: { seq: 5, position: 4, problem: "edited", anchor: { seq: 5, at: "2026-02-15T00:00:00.000Z" } },
      anchors: { total: 3, matched: 1, latest: { seq: 3 } },
    });
    expect(report.firstBad?.detail).toContain("after seq 3 (the anchor for seq 3 published 2026-02-01T00:00:00.000Z still matches)");
  });

  it("an edited event_id column, outside the chain", async () => {
    db.prepare("UPDATE log_entries SET event_id = 'event-somebody-else' WHERE seq = 4").run();
    const report = await verifyAgainstAnchors();
    expect(report).toMatchObject({ ok: false, checked: 3, firstBad: { seq: 4, problem: "edited" } });
    expect(report.firstBad?.detail).toBe(
      'log entry stored at seq 4: the stored event id column "event-somebody-else" is not the entry\'s event id "event-4"',
    );
    // The index it feeds no longer lends the entry to another event either.
    await expect(store.byEvent("event-somebody-else")).rejects.toThrow(/event id column/);
  });

  it("an event_id column cleared to hide an entry from `log show --event`", async () => {
    db.prepare("UPDATE log_entries SET event_id = NULL WHERE seq = 6").run();
    expect(await verifyAgainstAnchors()).toMatchObject({ ok: false, checked: 5, firstBad: { seq: 6, problem: "edited" } });
  });

  it("an edited hash column, which steers the next append", async () => {
    db.prepare("UPDATE log_entries SET hash = ? WHERE seq = 8").run("f".repeat(64));
    const report = await verifyAgainstAnchors();
    expect(report).toMatchObject({ ok: false, checked: 7, firstBad: { seq: 8, problem: "edited" } });
    expect(report.firstBad?.detail).toContain("the stored hash column");
  });

  it("an entry with a duplicated JSON key, which other readers would read differently", async () => {
    const row = db.prepare("SELECT entry FROM log_entries WHERE seq = 4").get() as { entry: string };
    // Readers that keep the first of two keys now see "verified"; JSON.parse keeps the last, so the hash still holds.
    db.prepare("UPDATE log_entries SET entry = ? WHERE seq = 4").run(`{"stage":"verified",${row.entry.slice(1)}`);
    const report = await verifyAgainstAnchors();
    expect(report).toMatchObject({ ok: false, checked: 3, firstBad: { seq: 4, problem: "edited" } });
    expect(report.firstBad?.detail).toBe(
      "log entry stored at seq 4 is not as it was written: its JSON has a duplicated key or was re-serialised",
    );
  });

  it("entries appended after the anchor still verify", async () => {
    await appendSamples(store, 3, 9);
    expect(await verifyAgainstAnchors()).toMatchObject({ ok: true, checked: 11, anchors: { total: 1, matched: 1, latest: { seq: 8 } } });
  });

  it("keeps the existing expectedHead option working beside anchors", async () => {
    const head = chainLink(entryAt(8));
    db.prepare("DELETE FROM log_entries WHERE seq = 8").run();
    expect(await verifyChain(store.read(), { expectedHead: head })).toMatchObject({ ok: false, firstBad: { seq: 8, problem: "missing" } });
  });
});

describe("FileAnchorStore", () => {
  it("appends one canonical line per anchor and lists them all", async () => {
    const second: Anchor = { seq: 9, hash: "b".repeat(64), at: "2026-03-02T00:00:00.000Z" };
    await anchors.publish(second);
    const lines = readFileSync(anchors.location, "utf8").trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(canonicalJson(second));
    expect(await anchors.list()).toEqual([{ ...chainLink(entryAt(8)), at: "2026-03-01T12:00:00.000Z" }, second]);
  });

  it("lists nothing when no anchor was ever published", async () => {
    expect(await new FileAnchorStore(join(mkdtempSync(join(tmpdir(), "hipaa-anchors-")), "none.jsonl")).list()).toEqual([]);
  });

  it("refuses an edited or cut anchors file, naming the line", async () => {
    appendFileSync(anchors.location, '{"seq":"nine","hash":"x","at":"now"}\n');
    await expect(anchors.list()).rejects.toThrow(
      new AnchorStoreError(`${anchors.location} line 2 is not an anchor: seq: Invalid input: expected number, received string`),
    );
    writeFileSync(anchors.location, readFileSync(anchors.location, "utf8").split("\n")[0] ?? "");
    await expect(anchors.list()).rejects.toThrow(/the last line is incomplete/);
  });

  it("publishes nothing for an empty log", async () => {
    const empty = new SqliteLogStore(openDatabase(":memory:"));
    expect(await publishHead(empty, anchors, clock)).toBeUndefined();
    expect(await anchors.list()).toHaveLength(1);
  });

  it("lives next to the database it anchors", () => {
    expect(anchorsPathFor(".hipaa-remediate/engine.db")).toBe(".hipaa-remediate/engine.anchors.jsonl");
    expect(anchorsPathFor("/tmp/log.sqlite")).toBe("/tmp/log.anchors.jsonl");
  });
});
