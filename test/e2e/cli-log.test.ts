import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeEach, describe, expect, it } from "vitest";
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
});
