import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { hipaaSections } from "@hipaa-remediate/core";
import { jsonLines, runCli } from "../support/cli";

// Each test runs the real binary up to three times; on a loaded machine that takes longer than the default minute.
describe("hipaa-remediate report", { timeout: 240_000 }, () => {
  let dir: string;
  let db: string;
  /** Findings the replay reported: every one of them must be in the report. */
  let findings: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hipaa-report-"));
    db = join(dir, "engine.db");
    const replay = await runCli(["replay", "--db", db, "--format", "jsonl", "samples/events"]);
    expect(replay.code).toBe(0);
    findings = jsonLines(replay.stdout).filter((line) => line.type === "finding").length;
    expect(findings).toBeGreaterThan(0);
  });

  it("--format json carries the header, every HIPAA section and each finding of the replay with its entries", async () => {
    const out = join(dir, "r.json");
    const result = await runCli(["report", "--db", db, "--format", "json", "--out", out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`wrote the json report to .*r\\.json: ${findings} findings`));
    const report = JSON.parse(readFileSync(out, "utf8")) as {
      schemaVersion: number;
      header: {
        chain: { ok: boolean; checked: number };
        head: { seq: number; hash: string };
        policy: { hash: string };
        toolVersion: string;
      };
      sections: { id: string }[];
      findings: { outcome: string; control: string; entries: { seq: number; hash: string }[] }[];
      totals: { findings: number; outcomes: Record<string, number> };
    };
    expect(report.schemaVersion).toBe(1);
    expect(report.header.chain).toMatchObject({ ok: true, checked: report.header.head.seq });
    expect(report.header.policy.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(report.header.toolVersion).toBe("0.1.0");
    expect(report.sections.map((s) => s.id)).toEqual(hipaaSections().map((s) => s.id));
    // The replay is offline and dry-run: every finding is reported only.
    expect(report.totals).toMatchObject({ findings, outcomes: { "would-remediate": findings } });
    expect(report.findings.every((f) => f.outcome === "would-remediate" && f.entries.length >= 3)).toBe(true);
  });

  it("--format csv has the same figures, one record per row, with a finding row per finding", async () => {
    const result = await runCli(["report", "--db", db, "--format", "csv"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\r\n").filter((line) => line !== "");
    expect(lines[0]).toMatch(/^record,metric,value,section,/);
    const records = lines.slice(1).map((line) => line.split(",")[0]);
    expect(records.filter((r) => r === "finding")).toHaveLength(findings);
    expect(records.filter((r) => r === "section")).toHaveLength(hipaaSections().length);
    expect(lines.some((line) => line.startsWith("report,chain_ok,true,"))).toBe(true);
    expect(lines.some((line) => line.startsWith(`report,outcome_would_remediate,${findings},`))).toBe(true);
  });

  it("--format html is one self-contained file: no script, no external reference, the verification result in its header", async () => {
    const out = join(dir, "r.html");
    const result = await runCli(["report", "--db", db, "--format", "html", "--out", out]);
    expect(result.code).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("Log verified.");
    expect(html).toContain("164.312(a)(2)(iv) Encryption and decryption");
    expect(html).toContain("<svg");
    expect(html).not.toMatch(/<script|<link|<img|\bsrc=|url\(/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it("--since and --until select findings by when they were detected, and bad dates are usage errors", async () => {
    const future = await runCli(["report", "--db", db, "--format", "json", "--since", "2999-01-01"]);
    expect(future.code).toBe(0);
    expect((JSON.parse(future.stdout) as { totals: { findings: number } }).totals.findings).toBe(0);
    const bad = await runCli(["report", "--db", db, "--since", "yesterday"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since must be a date (2026-11-01) or a date-time with a zone, got "yesterday"');
    const reversed = await runCli(["report", "--db", db, "--since", "2026-02-01", "--until", "2026-01-01"]);
    expect(reversed.code).toBe(2);
  });

  it("--store dynamodb without a table name says which flag or variable to set", async () => {
    const result = await runCli(["report", "--store", "dynamodb"], { env: { LOG_TABLE: "", PROPOSALS_TABLE: "" } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--store dynamodb needs the table name: pass --log-table or set LOG_TABLE");
  });

  it("writes the report and exits 1 when the log was tampered with, naming the entry in the report", async () => {
    const tampered = join(dir, "tampered.db");
    const copy = await runCli(["replay", "--db", tampered, "--format", "jsonl", "samples/events"]);
    expect(copy.code).toBe(0);
    const conn = new Database(tampered);
    conn
      .prepare(
        "UPDATE log_entries SET entry = replace(entry, 'phi-claims-archive', 'phi-claims-archivX') WHERE seq = (SELECT min(seq) FROM log_entries WHERE entry LIKE '%phi-claims-archive%')",
      )
      .run();
    const edited = (
      conn.prepare("SELECT min(seq) AS seq FROM log_entries WHERE entry LIKE '%phi-claims-archivX%'").get() as { seq: number }
    ).seq;
    conn.close();
    const out = join(dir, "tampered.html");
    const result = await runCli(["report", "--db", tampered, "--out", out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the log FAILED verification: entry ${edited} is edited`);
    expect(readFileSync(out, "utf8")).toContain(`Log TAMPERED.</strong> Entry ${edited} is edited`);
  });

  it("refuses a --db that does not exist rather than reporting on an empty log", async () => {
    const result = await runCli(["report", "--db", join(dir, "nope.db")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no log database at");
  });
});
