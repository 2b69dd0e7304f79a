import {
  DescribeSecurityGroupsCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  GetEbsEncryptionByDefaultCommand,
} from "@aws-sdk/client-ec2";
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  ControlIndex,
  DynamoDbExemptionStore,
  DynamoDbLogStore,
  DynamoDbProposalStore,
  engineIdentity,
  inMemoryGuard,
  NO_AUTOMATIC_FIXES,
  parsePolicy,
  RISK_ASSESSMENT_PREFIX,
  runRiskAssessment,
  S3ReportObjectStore,
  silentLogger,
  verifyChain,
  type ComplianceReport,
  type LogEntry,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { beforeAll, describe, expect, it } from "vitest";
import { createDeployedTables, type DeployedTableNames } from "../../support/deployed-tables";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { PHI_TAGS, createTestBucket } from "../../support/s3-buckets";

const moto = useMoto();
const REPORTS_BUCKET = "risk-assessment-reports";
const UNENCRYPTED_PHI_BUCKET = "risk-phi-records";
/** A policy that would fix everything at once: the assessment must still change nothing. */
const AUTO_EVERYWHERE = "defaultMode: auto\nrateLimit:\n  maxAutoFixes: 1000\n";
/**
 * The controls swept here: every control that would change the two resources below or the account's EBS default. The
 * deployed handler sweeps the whole registry; a registry-wide sweep on a shared emulator takes minutes.
 */
const SWEPT = [
  "s3-bucket-default-encryption",
  "s3-bucket-public-access",
  "s3-bucket-tls-only",
  "s3-bucket-versioning",
  "ec2-security-group-open-to-world",
  "ebs-encryption-by-default",
];

/** What the controls would change, read before and after: any difference means the assessment changed the account. */
async function accountState(s3: S3Client): Promise<unknown> {
  const ec2 = await moto.clients.ec2(MOTO_REGION);
  const buckets =
    (await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name ?? "").filter((name) => name !== REPORTS_BUCKET) ?? [];
  const perBucket = await Promise.all(
    buckets.sort().map(async (bucket) => ({
      bucket,
      encryption: await settled(() => s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))).then(
        (r) => r?.ServerSideEncryptionConfiguration,
      ),
      publicAccess: await settled(() => s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).then(
        (r) => r?.PublicAccessBlockConfiguration,
      ),
      policy: await settled(() => s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).then((r) => r?.Policy),
      versioning: (await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status,
    })),
  );
  const groups = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups?.map((group) => ({
    id: group.GroupId,
    ingress: group.IpPermissions,
  }));
  const ebsDefault = (await ec2.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault;
  return { perBucket, groups: groups?.sort((a, b) => String(a.id).localeCompare(String(b.id))), ebsDefault };
}

/** The response, or undefined when the setting is absent (S3 answers a missing configuration with an error). */
async function settled<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch {
    return undefined;
  }
}

async function objectText(s3: S3Client, key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: REPORTS_BUCKET, Key: key }));
  return (await object.Body?.transformToString("utf8")) ?? "";
}

async function readAll(log: DynamoDbLogStore): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for await (const entry of log.read()) entries.push(entry);
  return entries;
}

describe("the scheduled risk assessment against moto", () => {
  let s3: S3Client;
  let tables: DeployedTableNames;
  let log: DynamoDbLogStore;
  let proposals: DynamoDbProposalStore;
  let before: unknown;

  beforeAll(async () => {
    s3 = await moto.clients.s3(MOTO_REGION);
    const dynamodb = await moto.clients.dynamodb(MOTO_REGION);
    tables = await createDeployedTables(dynamodb, "risk");
    log = new DynamoDbLogStore({ client: dynamodb, tableName: tables.log });
    proposals = new DynamoDbProposalStore(dynamodb, tables.proposals);
    await s3.send(new CreateBucketCommand({ Bucket: REPORTS_BUCKET }));
    // Out of compliance: a PHI bucket with no default encryption, TLS policy or public access block, and SSH open to the world.
    await createTestBucket(s3, UNENCRYPTED_PHI_BUCKET, PHI_TAGS);
    const ec2 = await moto.clients.ec2(MOTO_REGION);
    const group = await ec2.send(new CreateSecurityGroupCommand({ GroupName: "risk-open-ssh", Description: "open ssh" }));
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group.GroupId,
        IpPermissions: [{ IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
      }),
    );
    before = await accountState(s3);
  });

  it("sweeps in dry-run under an auto policy, stores HTML, JSON and CSV that parse, and changes nothing in the account", async () => {
    const policy = parsePolicy(AUTO_EVERYWHERE, "policy.yaml", controls);
    const dynamodb = await moto.clients.dynamodb(MOTO_REGION);
    const result = await runRiskAssessment(
      {
        engine: {
          index: new ControlIndex(controls.filter((control) => SWEPT.includes(control.id))),
          policy,
          log,
          guard: inMemoryGuard(),
          rateLimiter: NO_AUTOMATIC_FIXES,
          proposals,
          exemptions: new DynamoDbExemptionStore(dynamodb, tables.exemptions),
          aws: moto.clients,
          now: () => new Date(),
          logger: silentLogger,
          identity: engineIdentity(policy, []),
          regions: [MOTO_REGION],
        },
        reports: new S3ReportObjectStore({ client: s3, bucket: REPORTS_BUCKET }),
        toolVersion: "0.1.0-test",
        store: `dynamodb:${MOTO_REGION}/${tables.log}`,
        policySource: "policy.yaml",
      },
      { assessmentId: "weekly-0001" },
    );
    expect(result.sweepFailures).toBe(0);

    // Nothing in the swept account changed, and nothing was proposed.
    expect(await accountState(s3)).toEqual(before);
    expect(await proposals.listByStatus("pending")).toEqual([]);

    // The log records the assessment, every finding as dry-run, no fix, and still verifies.
    const entries = await readAll(log);
    expect((await verifyChain(log.read())).ok).toBe(true);
    const stages = new Set(entries.map((entry) => entry.stage));
    for (const changing of ["applied", "verified", "proposed", "rolled-back"] as const) expect(stages.has(changing)).toBe(false);
    expect(entries.filter((entry) => entry.stage === "decision").every((entry) => entry.mode === "dry-run")).toBe(true);
    const completed = entries.filter((entry) => entry.stage === "sweep-completed");
    expect(completed.map((entry) => entry.details?.sweepId)).toEqual(["risk-assessment:weekly-0001"]);
    expect(result).toMatchObject({ assessmentId: "weekly-0001", sweepId: "risk-assessment:weekly-0001", chainOk: true });
    expect(result.findings).toBeGreaterThanOrEqual(2);

    // Three objects, under the dated folder of this assessment.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: REPORTS_BUCKET, Prefix: RISK_ASSESSMENT_PREFIX }));
    const keys = (listed.Contents ?? []).map((object) => object.Key ?? "").sort();
    expect(keys).toHaveLength(3);
    for (const key of keys) expect(key).toMatch(/^risk-assessments\/\d{4}\/\d{2}\/\d{2}\/weekly-0001\/report\.(html|json|csv)$/);
    expect(result.objects.sort()).toEqual(keys.map((key) => `s3://${REPORTS_BUCKET}/${key}`));

    const report = JSON.parse(await objectText(s3, keys.find((key) => key.endsWith(".json")) ?? "")) as ComplianceReport & {
      schemaVersion: number;
    };
    expect(report.schemaVersion).toBe(1);
    expect(report.header.chain.ok).toBe(true);
    expect(report.header.head?.seq).toBe(entries.at(-1)?.seq);
    expect(report.lastSweep?.sweepId).toBe("risk-assessment:weekly-0001");
    const flagged = report.findings.filter((finding) => finding.outcome === "would-remediate").map((finding) => finding.resource);
    expect(flagged).toContain(`arn:aws:s3:::${UNENCRYPTED_PHI_BUCKET}`);
    expect(flagged.some((arn) => arn.includes("security-group/"))).toBe(true);
    // The report shows the modes the policy enforces (auto), not the assessment's forced dry-run.
    expect(new Set(report.controls.map((control) => control.mode))).toContain("auto");

    const html = await objectText(s3, keys.find((key) => key.endsWith(".html")) ?? "");
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain(UNENCRYPTED_PHI_BUCKET);
    const csv = await objectText(s3, keys.find((key) => key.endsWith(".csv")) ?? "");
    expect(csv.split("\n").length).toBeGreaterThan(report.findings.length);
    expect(csv).toContain(UNENCRYPTED_PHI_BUCKET);
  }, 300_000);
});
