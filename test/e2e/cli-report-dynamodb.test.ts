import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDbExemptionStore, DynamoDbLogStore, DynamoDbProposalStore, type ComplianceReport } from "@hipaa-remediate/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleProposal } from "../integration/approvals/fixtures";
import { runCli } from "../support/cli";
import { createDeployedTables, type DeployedTableNames } from "../support/deployed-tables";
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto } from "../support/moto";
import { appendAll, registeredControl, storyDrafts, DANA, type FindingStory } from "../support/report-log";

const moto = useMoto();
const DAY_MS = 86_400_000;

/** Four findings with known ends: verified in 90 s, proposed (still pending), rejected, and exempted. */
function stories(now: Date): FindingStory[] {
  const control = registeredControl("s3-bucket-default-encryption");
  const at = (offsetMs: number) => new Date(now.getTime() - 2 * DAY_MS + offsetMs).toISOString();
  const event = (i: number) => ({ id: `event-${i}`, time: at(i * 1_000_000), receivedAt: at(i * 1_000_000 + 500) });
  return [
    {
      control,
      bucket: "phi-fixed",
      event: event(0),
      detectedAt: at(1_000),
      mode: "auto",
      then: [
        { stage: "applied", at: at(85_000) },
        { stage: "verified", at: at(90_000) },
      ],
    },
    {
      control,
      bucket: "phi-pending",
      event: event(1),
      detectedAt: at(1_001_000),
      mode: "approve",
      then: [{ stage: "proposed", at: at(1_002_000), proposalId: "p-pending" }],
    },
    {
      control,
      bucket: "phi-rejected",
      event: event(2),
      detectedAt: at(2_001_000),
      mode: "approve",
      then: [
        { stage: "proposed", at: at(2_002_000), proposalId: "p-rejected" },
        { stage: "rejected-by-approver", at: at(2_100_000), proposalId: "p-rejected", decidedBy: DANA, reason: "change freeze" },
      ],
    },
    {
      control,
      bucket: "phi-exempt",
      event: event(3),
      detectedAt: at(3_001_000),
      mode: "exempt",
      then: [
        {
          stage: "exempted",
          at: at(3_001_500),
          reason: "exempt",
          details: {
            exemption: { source: "policy", reason: "vendor appliance", owner: "ops@example.org", expires: "2099-01-01T00:00:00.000Z" },
          },
        },
      ],
    },
  ];
}

describe("hipaa-remediate report --store dynamodb (moto)", { timeout: 240_000 }, () => {
  let dir: string;
  let tables: DeployedTableNames;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hipaa-report-ddb-"));
    const dynamodb = await moto.clients.dynamodb(MOTO_REGION);
    tables = await createDeployedTables(dynamodb, "report-cli");
    const now = new Date();
    const log = new DynamoDbLogStore({ client: dynamodb, tableName: tables.log });
    for (const story of stories(now)) await appendAll(log, storyDrafts(story));
    const proposals = new DynamoDbProposalStore(dynamodb, tables.proposals);
    await proposals.create(sampleProposal("phi-pending", new Date(now.getTime() - 2 * DAY_MS), { id: "p-pending" }));
    // An exemption an approver granted, lapsing in ten days: listed among those that expire within 30.
    await new DynamoDbExemptionStore(dynamodb, tables.exemptions).add({
      source: "approval",
      resource: "arn:aws:s3:::phi-granted",
      controls: ["s3-bucket-default-encryption"],
      reason: "migration in progress",
      owner: "Dana Approver",
      expires: new Date(now.getTime() + 10 * DAY_MS + 3_600_000).toISOString(),
    });
    // The options the README documents: table names and endpoint from the environment, the region as a flag.
    env = {
      LOG_TABLE: tables.log,
      PROPOSALS_TABLE: tables.proposals,
      EXEMPTIONS_TABLE: tables.exemptions,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    };
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("--format json: the figures of what was written, read from the deployed tables", async () => {
    const out = join(dir, "r.json");
    const result = await runCli(["report", "--store", "dynamodb", "--region", MOTO_REGION, "--format", "json", "--out", out], { env });
    expect(result.stderr).toMatch(/wrote the json report to .*r\.json: 4 findings/);
    expect(result.code).toBe(0);
    const report = JSON.parse(readFileSync(out, "utf8")) as ComplianceReport;
    expect(report.header.store).toBe(`dynamodb:${MOTO_REGION}/${tables.log}`);
    expect(report.header.chain.ok).toBe(true);
    // Four stories: received, finding and decision each, plus their later steps.
    expect(report.header.entriesRead).toBe(4 * 3 + 2 + 1 + 2 + 1);
    expect(report.header.head?.seq).toBe(report.header.entriesRead);
    expect(report.totals.findings).toBe(4);
    expect(report.totals.outcomes).toMatchObject({ verified: 1, proposed: 1, rejected: 1, exempted: 1 });
    expect(report.totals.timeToRemediate).toMatchObject({ count: 1, p50Ms: 90_000, p95Ms: 90_000, maxMs: 90_000 });
    expect(report.findings.find((f) => f.outcome === "rejected")?.decidedBy).toBe("Dana Approver (U024BE7LH, slack)");
    expect(report.openProposals.map((p) => p.id)).toEqual(["p-pending"]);
    expect(report.expiringExemptions.map((e) => [e.resource, e.daysLeft])).toEqual([["arn:aws:s3:::phi-granted", 10]]);
  });

  it("--format csv: the same figures", async () => {
    const result = await runCli(["report", "--store", "dynamodb", "--region", MOTO_REGION, "--format", "csv"], { env });
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\r\n").filter((line) => line !== "");
    const records = lines.slice(1).map((line) => line.split(",")[0]);
    expect(records.filter((record) => record === "finding")).toHaveLength(4);
    expect(records.filter((record) => record === "open-proposal")).toHaveLength(1);
    expect(records.filter((record) => record === "expiring-exemption")).toHaveLength(1);
    for (const figure of [
      "chain_ok,true",
      "findings,4",
      "outcome_verified,1",
      "outcome_proposed,1",
      "outcome_rejected,1",
      "outcome_exempted,1",
      "ttr_p50_s,90",
    ]) {
      expect(lines.some((line) => line.startsWith(`report,${figure},`))).toBe(true);
    }
  });

  it("names the missing table option instead of reading nothing", async () => {
    const result = await runCli(["report", "--store", "dynamodb", "--region", MOTO_REGION, "--format", "json"], {
      env: { ...env, LOG_TABLE: "" },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("--log-table");
  });
});
