import { existsSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { jsonLines, repoRoot, runCli } from "../support/cli";

const corpus = resolve(repoRoot, "../shared/corpus");

function tempDb(): string {
  return join(mkdtempSync(join(tmpdir(), "hipaa-cli-")), "engine.db");
}

/** A DeleteBucketEncryption record as JSON text; `extra` is spliced in raw (JSON.stringify cannot write 1e999). */
function bucketChange(bucket: string, eventID?: string, extra = '"none"'): string {
  const record = {
    eventVersion: "1.08",
    eventTime: "2026-11-20T10:00:00Z",
    eventSource: "s3.amazonaws.com",
    eventName: "DeleteBucketEncryption",
    awsRegion: "us-east-1",
    recipientAccountId: "123456789012",
    requestParameters: { bucketName: bucket, extra: "EXTRA" },
    ...(eventID ? { eventID } : {}),
  };
  return JSON.stringify(record).replace('"EXTRA"', extra);
}

function countFiles(dir: string): number {
  return readdirSync(dir).reduce((n, name) => {
    const path = join(dir, name);
    return n + (statSync(path).isDirectory() ? countFiles(path) : 1);
  }, 0);
}

describe("hipaa-remediate replay", () => {
  it("replays the bundled samples in dry-run and honours the jsonl output contract", async () => {
    const result = await runCli(["replay", "--format", "jsonl", "--db", tempDb(), "samples/events"]);
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    const summary = lines.at(-1);
    expect(summary?.type).toBe("summary");
    const findings = lines.filter((l) => l.type === "finding");
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) {
      expect(finding).toEqual(
        expect.objectContaining({
          eventId: expect.any(String),
          eventName: expect.any(String),
          control: expect.any(String),
          category: expect.any(String),
          resource: expect.stringMatching(/^arn:aws:/),
          decision: "dry-run",
        }),
      );
    }
    // What the samples hold, control by control: three launches, two PHI/dev conflicts, two buckets without
    // encryption, and one new bucket (no versioning, no TLS-only policy, no classification tag in its event).
    const byControl = new Map<string, number>();
    for (const finding of findings) byControl.set(String(finding.control), (byControl.get(String(finding.control)) ?? 0) + 1);
    expect(Object.fromEntries(byControl)).toEqual({
      "ec2-instance-in-public-subnet": 2,
      "s3-bucket-default-encryption": 2,
      "phi-tagged-non-production": 3,
      "s3-bucket-versioning": 1,
      "s3-bucket-tls-only": 1,
      "datastore-classification-tag": 1,
    });
    expect(summary?.findings).toBe(findings.length);
    expect(summary?.records).toBe(Number(summary?.changes) + Number(summary?.ignored) + Number(summary?.rejected));
    // The failed call and the non-CloudTrail event are each ignored with a reason. The engine's own change is not:
    // the default policy names no engine principal, and the engine's user agent alone exempts nothing.
    const ignored = lines.filter((l) => l.type === "ignored").map((l) => String(l.reason));
    expect(ignored).toEqual(
      expect.arrayContaining([expect.stringMatching(/failed call \(AccessDenied\)/), expect.stringMatching(/Scheduled Event/)]),
    );
    expect(ignored).toHaveLength(2);
  });

  it("skips the engine's own change (the loop guard) when the policy names the engine's role", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-policy-"));
    const policy = join(dir, "policy.yaml");
    writeFileSync(policy, 'engine: { principals: ["arn:aws:iam::123456789012:role/hipaa-remediate-engine"] }\n');
    const result = await runCli(["replay", "--format", "jsonl", "--policy", policy, "--db", tempDb(), "samples/events"]);
    expect(result.code).toBe(0);
    const ignored = jsonLines(result.stdout)
      .filter((l) => l.type === "ignored")
      .map((l) => String(l.reason));
    expect(ignored).toEqual(expect.arrayContaining([expect.stringMatching(/loop guard/)]));
    expect(ignored).toHaveLength(3);
  });

  it("prints a readable table by default", async () => {
    const result = await runCli(["replay", "--db", tempDb(), "samples/events"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Findings\nControl\s+Resource\s+Decision\s+Outcome\s+Summary/m);
    expect(result.stdout).toMatch(/^Summary$/m);
    expect(result.stdout).toMatch(/would-remediate/);
  });

  it("reads stdin with -", async () => {
    const envelope = {
      version: "0",
      id: "5c0c0ffe-0000-4000-8000-000000000001",
      "detail-type": "AWS API Call via CloudTrail",
      source: "aws.s3",
      account: "123456789012",
      time: "2026-11-20T10:00:00Z",
      region: "us-east-1",
      resources: [],
      detail: {
        eventVersion: "1.09",
        eventTime: "2026-11-20T10:00:00Z",
        eventSource: "s3.amazonaws.com",
        eventName: "DeleteBucketEncryption",
        awsRegion: "us-east-1",
        requestParameters: { bucketName: "stdin-bucket" },
        responseElements: null,
        eventID: "5c0c0ffe-0000-4000-8000-0000000000aa",
        recipientAccountId: "123456789012",
        userIdentity: { type: "IAMUser", arn: "arn:aws:iam::123456789012:user/alice", userName: "alice" },
      },
    };
    const result = await runCli(["replay", "--format", "jsonl", "--db", tempDb(), "-"], { input: `${JSON.stringify(envelope)}\n` });
    expect(result.code).toBe(0);
    const finding = jsonLines(result.stdout).find((l) => l.type === "finding");
    expect(finding).toMatchObject({ resource: "arn:aws:s3:::stdin-bucket", control: "s3-bucket-default-encryption" });
  });

  it("rejects unusable records with a reason and goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-bad-"));
    const file = join(dir, "mixed.jsonl");
    writeFileSync(
      file,
      [
        "{ this is not json",
        JSON.stringify({ eventVersion: "1.08", eventSource: "s3.amazonaws.com", eventName: 42, eventTime: "2026-11-20T10:00:00Z" }),
        JSON.stringify({
          eventVersion: "1.08",
          eventTime: "2026-11-20T10:00:00Z",
          eventSource: "s3.amazonaws.com",
          eventName: "DeleteBucketEncryption",
          awsRegion: "us-east-1",
          eventID: "after-the-bad-lines",
          recipientAccountId: "123456789012",
          requestParameters: { bucketName: "still-processed" },
        }),
      ].join("\n"),
    );
    const result = await runCli(["replay", "--format", "jsonl", "--db", tempDb(), file]);
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    const rejected = lines.filter((l) => l.type === "rejected");
    expect(rejected).toHaveLength(2);
    expect(rejected.map((r) => String(r.reason)).join("\n")).toMatch(/eventName/);
    for (const r of rejected) expect(String(r.source)).toContain("mixed.jsonl");
    expect(lines.some((l) => l.type === "finding" && l.resource === "arn:aws:s3:::still-processed")).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: "summary", records: 3, rejected: 2 });
  });

  it("rejects a record holding a number that overflows or a 100k-deep nest, naming the field, and goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-hostile-"));
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const file = join(dir, "hostile.jsonl");
    writeFileSync(
      file,
      [
        bucketChange("a", "hostile-1", "1e999"),
        bucketChange("b", undefined, "1e999"),
        bucketChange("c", undefined, deep),
        bucketChange("after-hostile", "after-1"),
      ].join("\n"),
    );
    const result = await runCli(["replay", "--format", "jsonl", "--db", tempDb(), file]);
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines.filter((l) => l.type === "rejected").map((l) => String(l.reason))).toEqual([
      expect.stringMatching(/^requestParameters\.extra: a number too large for JSON/),
      expect.stringMatching(/^requestParameters\.extra: a number too large for JSON/),
      expect.stringMatching(/^requestParameters\.extra\[0\]\[0\]\[0\]\[0\]…\(\d+ more levels\): nested deeper than 64 levels/),
    ]);
    expect(lines.some((l) => l.type === "finding" && l.resource === "arn:aws:s3:::after-hostile")).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: "summary", records: 4, changes: 1, rejected: 3, aborted: false });
  });

  it("recovers every record a gzip file with trailing bytes holds, and rejects the bytes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-gzip-"));
    const log = (bucket: string) => gzipSync(`{"Records":[${bucketChange(bucket, `gz-${bucket}`)}]}`);
    const file = join(dir, "two-members.json.gz");
    writeFileSync(file, Buffer.concat([log("member-1"), log("member-2"), Buffer.from("\ntrailing bytes")]));
    const result = await runCli(["replay", "--format", "jsonl", "--db", tempDb(), file]);
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines.filter((l) => l.type === "finding").map((l) => l.resource)).toEqual(["arn:aws:s3:::member-1", "arn:aws:s3:::member-2"]);
    expect(lines.filter((l) => l.type === "rejected").map((l) => String(l.reason))).toEqual([
      expect.stringMatching(/the bytes after the last complete gzip member .* are not gzip data/),
    ]);
    expect(lines.at(-1)).toMatchObject({ type: "summary", records: 3, changes: 2, rejected: 1 });
  });

  it("when a path found mid-way cannot be read, flushes what it did and says in the summary that it aborted and why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-abort-"));
    const envelope = (bucket: string) => bucketChange(bucket, `abort-${bucket}`);
    writeFileSync(join(dir, "a.jsonl"), `${envelope("before-abort")}\n{ not json\n`);
    // A link to nowhere is found only when the walk reaches it (running as root, permissions cannot stop a read).
    symlinkSync(join(dir, "missing-target"), join(dir, "b.jsonl"));
    writeFileSync(join(dir, "c.jsonl"), envelope("after-abort"));
    for (const format of ["jsonl", "table"]) {
      const result = await runCli(["replay", "--format", format, "--db", tempDb(), dir]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(join(dir, "b.jsonl"));
      if (format === "table") {
        expect(result.stdout).toMatch(/before-abort/);
        expect(result.stdout).toMatch(/Run aborted: cannot read input path ".*b\.jsonl"/);
        continue;
      }
      const lines = jsonLines(result.stdout);
      expect(lines.filter((l) => l.type === "finding").map((l) => l.resource)).toEqual(["arn:aws:s3:::before-abort"]);
      expect(lines.filter((l) => l.type === "rejected")).toHaveLength(1);
      expect(lines.at(-1)).toMatchObject({
        type: "summary",
        records: 2,
        changes: 1,
        rejected: 1,
        aborted: true,
        abortReason: expect.stringMatching(/^cannot read input path ".*b\.jsonl": ENOENT/),
      });
    }
  });

  it("exits non-zero, naming the path, when an input cannot be read", async () => {
    const result = await runCli(["replay", "--db", tempDb(), "does/not/exist.json"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("does/not/exist.json");
  });

  it("refuses a policy file with a typo, naming the field and suggesting the fix", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-policy-"));
    const policy = join(dir, "policy.yaml");
    writeFileSync(policy, "defaultMode: dry-run\nrateLimt:\n  maxAutoFixes: 3\n");
    const result = await runCli(["replay", "--policy", policy, "--db", tempDb(), "samples/events"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/rateLimt/);
    expect(result.stderr).toMatch(/rateLimit/);
    expect(result.stdout).toBe("");
  });

  it("processes every file of the public corpus without crashing, and the counts add up", async () => {
    expect(existsSync(corpus), `the public corpus is expected at ${corpus} (shared/ beside the repository)`).toBe(true);
    const result = await runCli(["replay", "--format", "jsonl", "--no-progress", "--db", tempDb(), corpus]);
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    const summary = lines.at(-1);
    expect(summary?.type).toBe("summary");
    const files = countFiles(corpus);
    expect(summary?.files).toBeGreaterThan(0);
    expect(Number(summary?.files)).toBeLessThanOrEqual(files);
    expect(summary?.records).toBe(Number(summary?.changes) + Number(summary?.ignored) + Number(summary?.rejected));
    expect(summary?.records).toBeGreaterThan(1500);
    const rejected = lines.filter((l) => l.type === "rejected");
    for (const r of rejected) expect(String(r.reason).length).toBeGreaterThan(10);
    expect(lines.filter((l) => l.type === "finding").length).toBe(summary?.findings);
  });
});
