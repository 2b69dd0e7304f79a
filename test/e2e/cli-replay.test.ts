import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { jsonLines, repoRoot, runCli } from "../support/cli";

const corpus = resolve(repoRoot, "../shared/corpus");

function tempDb(): string {
  return join(mkdtempSync(join(tmpdir(), "hipaa-cli-")), "engine.db");
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
    expect(new Set(findings.map((f) => f.control))).toEqual(
      new Set(["ec2-instance-in-public-subnet", "s3-bucket-default-encryption", "phi-tagged-non-production"]),
    );
    expect(summary?.findings).toBe(findings.length);
    expect(summary?.records).toBe(Number(summary?.changes) + Number(summary?.ignored) + Number(summary?.rejected));
    // The failed call, the engine's own change and the non-CloudTrail event are each ignored with a reason.
    const ignored = lines.filter((l) => l.type === "ignored").map((l) => String(l.reason));
    expect(ignored).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/failed call \(AccessDenied\)/),
        expect.stringMatching(/loop guard/),
        expect.stringMatching(/Scheduled Event/),
      ]),
    );
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
