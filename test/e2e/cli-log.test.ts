import { createWriteStream, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { finished } from "node:stream/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeEach, describe, expect, it } from "vitest";
import { chainLink, nextEntry, SqliteLogStore, writeLogJsonLines, type LogEntry } from "@hipaa-remediate/core";
import { runCli } from "../support/cli";

/** A log written by a real replay of the bundled samples. */
async function replayedLog(): Promise<string> {
  const db = join(mkdtempSync(join(tmpdir(), "hipaa-log-")), "engine.db");
  const replay = await runCli(["replay", "--db", db, "--format", "jsonl", "samples/events"]);
  expect(replay.code).toBe(0);
  return db;
}

function rawRow(db: string, seq: number): string {
  const conn = new Database(db, { readonly: true });
  try {
    const row = conn.prepare("SELECT entry FROM log_entries WHERE seq = ?").get(seq) as { entry: string } | undefined;
    if (!row) throw new Error(`no row ${seq}`);
    return row.entry;
  } finally {
    conn.close();
  }
}

function tamper(db: string, sql: string, ...params: unknown[]): void {
  const conn = new Database(db);
  try {
    conn.prepare(sql).run(...params);
  } finally {
    conn.close();
  }
}

describe("hipaa-remediate log", () => {
  let db: string;
  beforeEach(async () => {
    db = await replayedLog();
  });

  it("verify passes on an untouched log and prints the head to record", async () => {
    const result = await runCli(["log", "verify", "--db", db]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^log OK: \d+ entries verified; head \d+:[0-9a-f]{64}$/m);
  });

  it("verify fails and names the entry when one byte of it was changed", async () => {
    const original = rawRow(db, 5);
    // Change one character inside a value: the JSON stays valid, only the content differs.
    const edited = original.replace(/"at":"(\d)/, (_m, digit: string) => `"at":"${digit === "1" ? "2" : "1"}`);
    expect(edited).not.toBe(original);
    tamper(db, "UPDATE log_entries SET entry = ? WHERE seq = 5", edited);
    const result = await runCli(["log", "verify", "--db", db]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/log TAMPERED: entry 5 .* edited/);
  });

  it("verify fails and names the gap when a row was deleted", async () => {
    tamper(db, "DELETE FROM log_entries WHERE seq = 4");
    const result = await runCli(["log", "verify", "--db", db]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/log TAMPERED: entry 5 .*(missing|broken)/);
  });

  it("verify with a recorded head catches deletion of the newest entries", async () => {
    const ok = await runCli(["log", "verify", "--db", db]);
    const head = /head (\d+:[0-9a-f]{64})/.exec(ok.stdout)?.[1] ?? "";
    const seq = Number(head.split(":")[0]);
    tamper(db, "DELETE FROM log_entries WHERE seq = ?", seq);
    const result = await runCli(["log", "verify", "--db", db, "--expect-head", head]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/TAMPERED/);
  });

  it("exports csv and json with every entry's hashes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-export-"));
    const csvPath = join(dir, "log.csv");
    const csv = await runCli(["log", "export", "--db", db, "--format", "csv", "--out", csvPath]);
    expect(csv.code).toBe(0);
    const lines = readFileSync(csvPath, "utf8").trim().split(/\r?\n/);
    expect(lines[0]).toMatch(/^seq,at,stage,/);
    expect(lines[0]).toMatch(/prevHash,hash/);

    const json = await runCli(["log", "export", "--db", db, "--format", "json"]);
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.stdout) as { seq: number; hash: string; prevHash: string }[];
    expect(entries.length).toBe(lines.length - 1);
    for (let i = 1; i < entries.length; i++) expect(entries[i]?.prevHash).toBe(entries[i - 1]?.hash);
  });

  it("show prints entries as a table, filtered by stage", async () => {
    const result = await runCli(["log", "show", "--db", db, "--stage", "would-remediate"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Seq\s+At\s+Stage/m);
    const rows = result.stdout.split("\n").filter((l) => /would-remediate/.test(l));
    expect(rows.length).toBeGreaterThan(0);
    expect(result.stdout).toMatch(new RegExp(`^${rows.length} entries$`, "m"));
  });

  it("refuses a database path that does not exist instead of verifying an empty log", async () => {
    const result = await runCli(["log", "verify", "--db", "/nonexistent/engine.db"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no log database at \/nonexistent\/engine.db/);
  });

  describe("anchors", () => {
    const anchorsOf = (database: string) => database.replace(/\.db$/, ".anchors.jsonl");

    function rows(database: string): LogEntry[] {
      const conn = new Database(database, { readonly: true });
      try {
        return (conn.prepare("SELECT entry FROM log_entries ORDER BY seq").all() as { entry: string }[]).map(
          (row) => JSON.parse(row.entry) as LogEntry,
        );
      } finally {
        conn.close();
      }
    }

    it("a run that appended entries anchors its head next to the database, and verify checks it", async () => {
      const anchors = readFileSync(anchorsOf(db), "utf8").trim().split("\n");
      expect(anchors).toHaveLength(1);
      const head = rows(db).at(-1);
      expect(JSON.parse(anchors[0] ?? "")).toMatchObject({ seq: head?.seq, hash: head?.hash });
      const result = await runCli(["log", "verify", "--db", db]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`anchors: 1 of 1 matched (newest: seq ${head?.seq}, published `);
    });

    it("catches a truncated tail without --expect-head", async () => {
      tamper(db, "DELETE FROM log_entries WHERE seq > 3");
      const result = await runCli(["log", "verify", "--db", db]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        /^log TAMPERED: entry \d+ \(position 4\) is missing: the log ends at seq 3, but the anchor for seq \d+ published \S+ records seq \d+: the newest entries were deleted; 3 entries before it verified$/m,
      );
    });

    it("catches a full rewrite with every hash recomputed", async () => {
      const original = rows(db);
      let previous: ReturnType<typeof chainLink> | undefined;
      const conn = new Database(db);
      try {
        for (const entry of original) {
          const { seq: _seq, prevHash: _prevHash, hash: _hash, ...draft } = entry;
          const forged = nextEntry(previous, { ...draft, reason: "nothing happened here" });
          conn.prepare("UPDATE log_entries SET entry = ?, hash = ? WHERE seq = ?").run(JSON.stringify(forged), forged.hash, forged.seq);
          previous = chainLink(forged);
        }
      } finally {
        conn.close();
      }
      const result = await runCli(["log", "verify", "--db", db]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        /log TAMPERED: entry \d+ .* is edited: seq \d+ now hashes to [0-9a-f]{64}, but the anchor for seq \d+ published \S+ records [0-9a-f]{64}: the log was rewritten/,
      );
    });

    it("catches an edited event_id column, which `log show --event` relies on", async () => {
      const withEvent = rows(db).find((entry) => entry.eventId);
      tamper(db, "UPDATE log_entries SET event_id = 'someone-else' WHERE seq = ?", withEvent?.seq);
      const result = await runCli(["log", "verify", "--db", db]);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(
        `log TAMPERED: entry ${withEvent?.seq} (position ${withEvent?.seq}) is edited: log entry stored at seq ${withEvent?.seq}: the stored event id column "someone-else"`,
      );
    });

    it("says an edited anchors file cannot be trusted instead of verifying against it", async () => {
      writeFileSync(anchorsOf(db), `${readFileSync(anchorsOf(db), "utf8")}not an anchor\n`);
      const result = await runCli(["log", "verify", "--db", db]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^log UNVERIFIABLE: .*engine\.anchors\.jsonl line 2 is not JSON; the anchors were edited$/m);
    });

    it("log anchor publishes the head on demand", async () => {
      const result = await runCli(["log", "anchor", "--db", db]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^anchored seq \d+:[0-9a-f]{64} at \S+ in .*engine\.anchors\.jsonl$/m);
      expect(readFileSync(anchorsOf(db), "utf8").trim().split("\n")).toHaveLength(2);
    });
  });

  describe("restore", () => {
    /** What `log export --format jsonl` writes (one spawn fewer per test: the CLI export has its own test above). */
    async function exported(): Promise<string> {
      const file = join(mkdtempSync(join(tmpdir(), "hipaa-export-")), "log.jsonl");
      const store = SqliteLogStore.open(db);
      try {
        const out = createWriteStream(file);
        await writeLogJsonLines(store.read(), out);
        out.end();
        await finished(out);
      } finally {
        await store.close();
      }
      return file;
    }

    it("rebuilds the log from a JSON lines export, and the copy verifies against the original's anchors", async () => {
      const file = await exported();
      const copy = join(mkdtempSync(join(tmpdir(), "hipaa-restore-")), "restored.db");
      const restored = await runCli(["log", "restore", "--from", file, "--db", copy]);
      expect(restored.code).toBe(0);
      const count = readFileSync(file, "utf8").trim().split("\n").length;
      expect(restored.stdout).toMatch(
        new RegExp(`^restored ${count} entries into ${copy.replace(/[.]/g, "\\.")}; verify it against the anchors`, "m"),
      );
      const verified = await runCli(["log", "verify", "--db", copy, "--anchors", db.replace(/\.db$/, ".anchors.jsonl")]);
      expect(verified.code).toBe(0);
      expect(verified.stdout).toMatch(new RegExp(`^log OK: ${count} entries verified; head ${count}:[0-9a-f]{64}$`, "m"));
      expect(verified.stdout).toContain("anchors: 1 of 1 matched");
    });

    it("a copy restored from an export that lost its tail fails verification against the anchors", async () => {
      const file = await exported();
      const lines = readFileSync(file, "utf8").trim().split("\n");
      writeFileSync(file, `${lines.slice(0, -2).join("\n")}\n`);
      const copy = join(mkdtempSync(join(tmpdir(), "hipaa-restore-")), "restored.db");
      expect((await runCli(["log", "restore", "--from", file, "--db", copy])).code).toBe(0);
      const verified = await runCli(["log", "verify", "--db", copy, "--anchors", db.replace(/\.db$/, ".anchors.jsonl")]);
      expect(verified.code).toBe(1);
      expect(verified.stdout).toMatch(/the newest entries were deleted/);
    });

    it("refuses an export line with a duplicated key, and leaves no half-restored database", async () => {
      const file = await exported();
      const lines = readFileSync(file, "utf8").trim().split("\n");
      lines[1] = `{"stage":"verified",${(lines[1] ?? "").slice(1)}`;
      writeFileSync(file, `${lines.join("\n")}\n`);
      const copy = join(mkdtempSync(join(tmpdir(), "hipaa-restore-")), "restored.db");
      const restored = await runCli(["log", "restore", "--from", file, "--db", copy]);
      expect(restored.code).toBe(2);
      expect(restored.stderr).toContain(`${file} line 2: is not as it was written: its JSON has a duplicated key or was re-serialised`);
      expect(existsSync(copy)).toBe(false);
    });

    it("refuses to restore into an existing database", async () => {
      const result = await runCli(["log", "restore", "--from", "exports", "--db", db]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${db} already exists: restore into a new database file`);
    });
  });
});
