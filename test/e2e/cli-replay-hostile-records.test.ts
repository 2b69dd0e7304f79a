import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteLogStore, type LogEntry } from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../support/cli";
import { cloudTrailRecord } from "../support/cloudtrail";

/**
 * Records as an attacker who can write a log file the operator replays would shape them: text that drives the
 * terminal, and values in the right places with the wrong types. Each must leave the terminal inert and every record
 * accounted for, on stdout and in the log alike.
 */

function workDir(): { dir: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), "hipaa-hostile-"));
  return { dir, db: join(dir, "engine.db") };
}

/** A DeleteBucketEncryption record; `overrides` replace its fields as they stand in the record. */
function bucketRecord(eventID: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const record = cloudTrailRecord({
    eventID,
    eventSource: "s3.amazonaws.com",
    eventName: "DeleteBucketEncryption",
    requestParameters: { bucketName: "plain-bucket" },
  });
  return { ...record, ...overrides };
}

async function logEntries(db: string): Promise<LogEntry[]> {
  const log = SqliteLogStore.open(db);
  const entries: LogEntry[] = [];
  for await (const entry of log.read()) entries.push(entry);
  await log.close();
  return entries;
}

// ESC, BEL, CR, a C1 control and a right-to-left override: none may reach the terminal raw.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const TERMINAL_CONTROLS = /[\u0007\u000d\u001b\u009b\u202e]/;

describe("replay of records that carry hostile values", () => {
  it("shows escape sequences, carriage returns and direction overrides as inert text in the table and on stderr", async () => {
    const { dir, db } = workDir();
    const evil = "evil\u001b[31mRED\u001b]0;retitled\u0007\rover\u009b\u202etxt";
    writeFileSync(
      join(dir, "trail.json"),
      JSON.stringify({ Records: [bucketRecord("e-escapes", { requestParameters: { bucketName: evil } })] }),
    );

    const result = await runCli(["replay", "--db", db, join(dir, "trail.json")]);

    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(TERMINAL_CONTROLS);
    expect(result.stderr).not.toMatch(TERMINAL_CONTROLS);
    expect(result.stdout).toContain("evil\\u001b[31mRED\\u001b]0;retitled\\u0007\\u000dover\\u009b\\u202etxt");
    // The log keeps the value exactly: only what a terminal shows is made inert.
    const finding = (await logEntries(db)).find((entry) => entry.stage === "finding");
    expect(finding?.resource?.id).toBe(evil);
  });

  it("cuts a value too long to read on stderr, saying how long it was, and logs the record's failure", async () => {
    const { dir, db } = workDir();
    const bucket = "b".repeat(100_000);
    writeFileSync(
      join(dir, "trail.json"),
      JSON.stringify({ Records: [bucketRecord("e-long", { requestParameters: { bucketName: bucket } })] }),
    );

    const result = await runCli(["replay", "--format", "jsonl", "--db", db, join(dir, "trail.json")]);

    expect(result.code).toBe(0);
    const errorLines = result.stderr.split("\n").filter((line) => line.startsWith("error "));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]?.length).toBeLessThan(2_100);
    expect(errorLines[0]).toMatch(/… \(\d{6} characters\)$/);
    expect(jsonLines(result.stdout).at(-1)).toMatchObject({ type: "summary", records: 1, failures: 1 });
    expect((await logEntries(db)).map((entry) => entry.stage).at(-1)).toBe("failed");
  });

  it("accounts for a record outside the scope, one whose resource field has the wrong type, and an empty array, on stdout and in the log", async () => {
    const { dir, db } = workDir();
    const records = [
      bucketRecord("e-outside-scope", { awsRegion: "../../etc" }),
      bucketRecord("e-bucket-number", { requestParameters: { bucketName: 12 } }),
      bucketRecord("e-bucket-object", { requestParameters: { bucketName: { name: "b" } } }),
      [],
      bucketRecord("e-after", { requestParameters: { bucketName: "after-the-hostile-ones" } }),
    ];
    writeFileSync(join(dir, "trail.json"), JSON.stringify({ Records: records }));

    const result = await runCli(["replay", "--format", "jsonl", "--db", db, join(dir, "trail.json")]);

    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    const summary = lines.at(-1);
    const rejected = lines.filter((line) => line.type === "rejected");
    expect(summary).toMatchObject({ type: "summary", records: 5, rejected: 2, changes: 3 });
    // Every rejection the summary counts is printed, with its reason.
    expect(rejected.map((line) => [line.source, line.reason])).toEqual([
      [expect.stringContaining("Records[0]"), expect.stringMatching(/region \.\.\/\.\.\/etc is outside the policy's scope/)],
      [expect.stringContaining("Records[3]"), "Records[3]: expected a record, got an empty array"],
    ]);
    expect(lines.filter((line) => line.type === "finding").map((line) => line.resource)).toEqual(["arn:aws:s3:::after-the-hostile-ones"]);

    // In the log, each event that was received also ends: a record naming no bucket is not left half-handled.
    const entries = await logEntries(db);
    const stagesOf = (eventId: string) => entries.filter((entry) => entry.eventId === eventId).map((entry) => entry.stage);
    for (const eventId of ["e-bucket-number", "e-bucket-object"]) {
      expect(stagesOf(eventId)).toEqual(["received", "ignored"]);
      expect(entries.find((entry) => entry.eventId === eventId && entry.stage === "ignored")?.reason).toMatch(/names no resource/);
    }
    expect(stagesOf("e-outside-scope")).toEqual(["rejected"]);
  });
});
