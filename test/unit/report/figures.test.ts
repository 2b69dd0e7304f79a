import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  buildComplianceReport,
  durationStats,
  nearestRank,
  openDatabase,
  parsePolicy,
  SqliteExemptionStore,
  SqliteLogStore,
  SqliteProposalStore,
  type ComplianceReport,
  type FindingRecord,
  type Proposal,
  type SqliteDatabase,
} from "@hipaa-remediate/core";
import { appendAll, DANA, registeredControl, SAM, storyDrafts } from "../../support/report-log";

const encryption = registeredControl("s3-bucket-default-encryption");
const tagging = registeredControl("phi-tagged-non-production");
const REGISTRY = [encryption, tagging];
const NOW = new Date("2026-11-30T12:00:00.000Z");
const SECOND = 1000;

function at(time: string): string {
  return `2026-11-30T${time}.000Z`;
}

/** A pending proposal as the engine stores it. */
function pendingProposal(id: string, bucket: string, createdAt: string): Proposal {
  const resource = { arn: `arn:aws:s3:::${bucket}`, type: "AWS::S3::Bucket", id: bucket, account: "123456789012", region: "us-east-1" };
  return {
    id,
    createdAt,
    expiresAt: new Date(Date.parse(createdAt) + 24 * 3_600_000).toISOString(),
    status: "pending",
    control: encryption.id,
    finding: {
      control: encryption.id,
      resource,
      summary: `Bucket ${bucket} has no default encryption`,
      evidence: {},
      confirmed: true,
      tags: {},
    },
    plan: {
      control: encryption.id,
      resource,
      summary: "Turn on SSE-S3",
      steps: ["PutBucketEncryption AES256"],
      reversible: true,
      params: {},
    },
    planHash: "b".repeat(64),
    eventId: "e8",
  };
}

describe("the compliance report's figures, on a hand-built log", () => {
  let db: SqliteDatabase;
  let log: SqliteLogStore;
  let report: ComplianceReport;
  const byBucket = (bucket: string): FindingRecord | undefined => report.findings.find((f) => f.resource === `arn:aws:s3:::${bucket}`);

  beforeEach(async () => {
    db = openDatabase(":memory:");
    log = new SqliteLogStore(db);
    const proposals = new SqliteProposalStore(db);
    const exemptions = new SqliteExemptionStore(db);
    const event = (id: string, time: string) => ({ id, time: at(time), receivedAt: at(time) });

    // Before the period: never counted.
    await appendAll(
      log,
      storyDrafts({
        control: encryption,
        bucket: "old",
        event: { id: "e0", time: "2026-11-01T00:00:00Z", receivedAt: "2026-11-01T00:00:01Z" },
        detectedAt: "2026-11-01T00:00:02Z",
        mode: "auto",
        then: [{ stage: "verified", at: "2026-11-01T00:10:00Z" }],
      }),
    );
    // Automatic fixes: 60 s and 300 s from the change to the verified fix.
    await appendAll(
      log,
      storyDrafts({
        control: encryption,
        bucket: "auto-fast",
        event: event("e1", "10:00:00"),
        detectedAt: at("10:00:05"),
        mode: "auto",
        then: [
          { stage: "applied", at: at("10:00:40") },
          { stage: "verified", at: at("10:01:00") },
        ],
      }),
    );
    await appendAll(
      log,
      storyDrafts({
        control: encryption,
        bucket: "auto-slow",
        event: event("e2", "10:00:00"),
        detectedAt: at("10:00:30"),
        mode: "auto",
        then: [
          { stage: "applied", at: at("10:04:00") },
          { stage: "verified", at: at("10:05:00") },
        ],
      }),
    );
    // Approved by Dana two hours later: 2 h 30 s.
    await appendAll(
      log,
      storyDrafts({
        control: encryption,
        bucket: "approved",
        event: event("e3", "09:00:00"),
        detectedAt: at("09:00:10"),
        mode: "approve",
        then: [
          { stage: "proposed", at: at("09:00:10"), proposalId: "p3" },
          { stage: "approved", at: at("11:00:00"), proposalId: "p3", decidedBy: DANA },
          { stage: "applied", at: at("11:00:20"), proposalId: "p3", decidedBy: DANA },
          { stage: "verified", at: at("11:00:30"), proposalId: "p3", decidedBy: DANA },
        ],
      }),
    );
    await appendAll(
      log,
      storyDrafts({
        control: encryption,
        bucket: "rejected",
        event: event("e4", "09:30:00"),
        detectedAt: at("09:30:01"),
        mode: "approve",
        then: [
          { stage: "proposed", at: at("09:30:01"), proposalId: "p4" },
          { stage: "rejected-by-approver", at: at("09:45:00"), proposalId: "p4", decidedBy: SAM, reason: "restore drill bucket" },
        ],
      }),
    );
    await appendAll(
      log,
      storyDrafts({
        control: tagging,
        bucket: "exempt",
        event: event("e5", "08:00:00"),
        detectedAt: at("08:00:01"),
        mode: "exempt",
        then: [
          {
            stage: "exempted",
            at: at("08:00:01"),
            reason: "exempt until …",
            details: {
              exemption: { source: "tag", reason: "vendor appliance", owner: "alice@example.com", expires: "2026-12-10T23:59:59.999Z" },
            },
          },
        ],
      }),
    );
    await appendAll(
      log,
      storyDrafts({
        control: encryption,
        bucket: "gone",
        event: event("e6", "07:00:00"),
        detectedAt: at("07:00:01"),
        mode: "auto",
        then: [{ stage: "no-longer-applies", at: at("07:00:02"), reason: "bucket deleted" }],
      }),
    );
    await appendAll(
      log,
      storyDrafts({
        control: encryption,
        bucket: "broken",
        event: event("e7", "07:30:00"),
        detectedAt: at("07:30:01"),
        mode: "auto",
        then: [{ stage: "failed", at: at("07:30:03"), reason: "apply failed", error: { name: "AccessDenied", message: "not allowed" } }],
      }),
    );
    await appendAll(
      log,
      storyDrafts({
        control: encryption,
        bucket: "waiting",
        event: event("e8", "09:00:00"),
        detectedAt: at("09:00:01"),
        mode: "approve",
        then: [{ stage: "proposed", at: at("09:00:01"), proposalId: "p8" }],
      }),
    );
    await proposals.create(pendingProposal("p8", "waiting", at("09:00:01")));
    await appendAll(
      log,
      storyDrafts({
        control: tagging,
        bucket: "dry",
        event: event("e9", "06:00:00"),
        detectedAt: at("06:00:01"),
        mode: "dry-run",
        then: [{ stage: "would-remediate", at: at("06:00:01") }],
      }),
    );
    // A sweep finding has no event: timed from its detection, 45 s.
    await appendAll(
      log,
      storyDrafts({
        control: encryption,
        bucket: "swept",
        detectedAt: at("05:00:00"),
        mode: "auto",
        then: [
          { stage: "applied", at: at("05:00:30") },
          { stage: "verified", at: at("05:00:45") },
        ],
      }),
    );
    await log.append({
      stage: "sweep-completed",
      at: at("05:01:00"),
      details: {
        sweepId: "sweep-1",
        controls: [
          { control: encryption.id, resourcesChecked: 40, outOfCompliance: 3, failures: 0, complete: true },
          { control: tagging.id, resourcesChecked: 12, outOfCompliance: 0, failures: 1, complete: false },
        ],
      },
    });

    await exemptions.add({
      source: "approval",
      resource: "arn:aws:s3:::soon",
      controls: [encryption.id],
      reason: "migration window",
      owner: "Dana",
      expires: "2026-12-29T12:00:00.000Z",
    });
    await exemptions.add({
      source: "approval",
      resource: "arn:aws:s3:::later",
      controls: [encryption.id],
      reason: "vendor contract",
      owner: "Dana",
      expires: "2027-01-20T12:00:00.000Z",
    });
    await exemptions.add({
      source: "approval",
      resource: "arn:aws:s3:::lapsed",
      controls: [encryption.id],
      reason: "old",
      owner: "Dana",
      expires: "2026-11-29T12:00:00.000Z",
    });
    const policy = parsePolicy(
      JSON.stringify({
        controls: { [encryption.id]: { mode: "auto" } },
        exemptions: [
          {
            resource: "arn:aws:s3:::legacy-*",
            controls: [encryption.id],
            reason: "replacement in Q1",
            owner: "bob@example.com",
            expires: "2026-12-05",
          },
        ],
      }),
      "policy.json",
      REGISTRY,
    );

    report = await buildComplianceReport(
      { log, proposals, exemptions, policy, controls: REGISTRY },
      { now: NOW, since: new Date("2026-11-30T00:00:00Z"), toolVersion: "9.9.9", store: "sqlite::memory:", policySource: "policy.json" },
    );
  });

  afterEach(() => {
    db.close();
  });

  it("follows each finding of the period to how it ended, and who decided", () => {
    expect(report.findings.map((f) => [f.resource.replace("arn:aws:s3:::", ""), f.outcome])).toEqual([
      ["auto-fast", "verified"],
      ["auto-slow", "verified"],
      ["approved", "verified"],
      ["rejected", "rejected"],
      ["exempt", "exempted"],
      ["gone", "no-longer-applies"],
      ["broken", "failed"],
      ["waiting", "proposed"],
      ["dry", "would-remediate"],
      ["swept", "verified"],
    ]);
    expect(byBucket("approved")).toMatchObject({
      decidedBy: "Dana Approver (U024BE7LH, slack)",
      proposalId: "p3",
      eventTime: at("09:00:00"),
    });
    expect(byBucket("rejected")).toMatchObject({ decidedBy: "Sam Ops (sam, web)", detail: "restore drill bucket" });
    expect(byBucket("exempt")?.exemption).toEqual({
      source: "tag",
      reason: "vendor appliance",
      owner: "alice@example.com",
      expires: "2026-12-10T23:59:59.999Z",
    });
    expect(byBucket("broken")?.detail).toBe("apply failed — AccessDenied: not allowed");
    expect(byBucket("approved")?.entries.map((e) => e.stage)).toEqual([
      "finding",
      "decision",
      "proposed",
      "approved",
      "applied",
      "verified",
    ]);
    expect(report.totals.outcomes).toMatchObject({
      verified: 4,
      rejected: 1,
      exempted: 1,
      "no-longer-applies": 1,
      failed: 1,
      proposed: 1,
      "would-remediate": 1,
      detected: 0,
    });
  });

  it("measures time to remediate from the change to the verified fix: p50, p95 and max by nearest rank", () => {
    expect(report.findings.filter((f) => f.timeToRemediateMs !== undefined).map((f) => f.timeToRemediateMs)).toEqual([
      60 * SECOND,
      300 * SECOND,
      (2 * 3600 + 30) * SECOND,
      45 * SECOND,
    ]);
    // Sorted: 45 s, 60 s, 300 s, 7230 s. Rank ceil(0.5 × 4) = 2 and ceil(0.95 × 4) = 4.
    expect(report.totals.timeToRemediate).toEqual({ count: 4, p50Ms: 60 * SECOND, p95Ms: 7230 * SECOND, maxMs: 7230 * SECOND });
    expect(report.charts.timeToRemediate.filter((b) => b.count > 0).map((b) => [b.label, b.count])).toEqual([
      ["< 1 min", 1],
      ["1–5 min", 1],
      ["5–15 min", 1],
      ["1–4 h", 1],
    ]);
  });

  it("puts each figure under the HIPAA sections of its control, with the controls' modes under the policy", () => {
    const atRest = report.sections.find((s) => s.id === "164.312(a)(2)(iv)");
    expect(atRest).toMatchObject({ name: "Encryption and decryption", findings: 8, openProposals: 1 });
    expect(atRest?.controls).toEqual([
      expect.objectContaining({ control: encryption.id, mode: "auto", modeFrom: "policy", enabled: true }),
    ]);
    expect(atRest?.timeToRemediate).toEqual({ count: 4, p50Ms: 60 * SECOND, p95Ms: 7230 * SECOND, maxMs: 7230 * SECOND });
    expect(atRest?.posture).toEqual({ resourcesChecked: 40, outOfCompliance: 3, complete: true });
    const tags = report.sections.find((s) => s.id === "164.308(a)(4)(ii)(B)");
    expect(tags).toMatchObject({ findings: 2, posture: { resourcesChecked: 12, outOfCompliance: 0, complete: false } });
    expect(tags?.controls).toEqual([expect.objectContaining({ control: tagging.id, mode: "approve", modeFrom: "control default" })]);
    // Risk management is cited by both public exposure and tagging: it carries the tagging findings.
    expect(report.sections.find((s) => s.id === "164.308(a)(1)(ii)(B)")?.findings).toBe(2);
    expect(report.sections.find((s) => s.id === "164.312(b)")).toMatchObject({ controls: [], findings: 0 });
  });

  it("lists open proposals with their age, and only the exemptions that lapse within 30 days", () => {
    expect(report.openProposals).toEqual([expect.objectContaining({ id: "p8", ageMs: (2 * 3600 + 59 * 60 + 59) * SECOND })]);
    expect(report.expiringExemptions.map((x) => [x.resource, x.source, x.daysLeft])).toEqual([
      ["arn:aws:s3:::legacy-*", "policy", 5],
      ["arn:aws:s3:::exempt", "tag", 10],
      ["arn:aws:s3:::soon", "approval", 29],
    ]);
  });

  it("heads the report with the verified chain, its head, the policy hash, the time and the version", async () => {
    const head = await log.head();
    expect(report.header).toMatchObject({
      chain: { ok: true, checked: head?.seq },
      head: { seq: head?.seq, hash: head?.hash },
      generatedAt: NOW.toISOString(),
      toolVersion: "9.9.9",
      entriesRead: head?.seq,
      unreadableEntries: [],
      policy: { hash: expect.stringMatching(/^[0-9a-f]{64}$/), source: "policy.json" },
    });
    expect(report.lastSweep).toMatchObject({ sweepId: "sweep-1", at: at("05:01:00") });
  });

  it("reports a tampered entry in the header and still counts every readable entry", async () => {
    db.prepare("UPDATE log_entries SET entry = 'not json' WHERE seq = 3").run();
    const tampered = await buildComplianceReport(
      { log, proposals: new SqliteProposalStore(db), policy: parsePolicy("{}", "p", REGISTRY), controls: REGISTRY },
      { now: NOW, toolVersion: "9.9.9", store: "s", policySource: "p" },
    );
    const head = await log.head();
    expect(tampered.header.chain).toMatchObject({ ok: false, checked: 2, firstBad: { seq: 3, problem: "edited" } });
    expect(tampered.header.unreadableEntries).toEqual([3]);
    expect(tampered.header.entriesRead).toBe((head?.seq ?? 0) - 1);
    expect(tampered.header.head).toEqual({ seq: head?.seq, hash: head?.hash });
  });
});

describe("nearest-rank percentiles", () => {
  it("pick a measured value: p50 and p95 of 1..20 are 10 and 19, and a single value is every percentile", () => {
    const values = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(nearestRank(values, 50)).toBe(10);
    expect(nearestRank(values, 95)).toBe(19);
    expect(durationStats([7])).toEqual({ count: 1, p50Ms: 7, p95Ms: 7, maxMs: 7 });
    expect(durationStats([])).toEqual({ count: 0 });
    expect(durationStats([30, 10, 20])).toEqual({ count: 3, p50Ms: 20, p95Ms: 30, maxMs: 30 });
  });
});
