import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { controlActions, RISK_ASSESSMENT_PREFIX } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RISK_ASSESSMENT_SCHEDULE, settingsFromEnvironment } from "../../stacks/lib/settings";
import { synthesise, type Synthesised } from "./synth";
import { actionsOf, functionByHandler, props, resources, roleStatements, type Statement } from "./template-queries";

const HANDLER = "packages/functions/src/risk-assessment.handler";

interface BucketProps {
  VersioningConfiguration?: unknown;
  BucketEncryption?: unknown;
  PublicAccessBlockConfiguration?: unknown;
  OwnershipControls?: unknown;
  LifecycleConfiguration?: { Rules: { Status: string; ExpirationInDays?: number; NoncurrentVersionExpiration?: unknown }[] };
  ObjectLockEnabled?: boolean;
}

interface RuleProps {
  ScheduleExpression?: string;
  Targets: { Arn: unknown; RetryPolicy?: { MaximumRetryAttempts?: number } }[];
}

let policyDir: string;
let weekly: Synthesised;

beforeAll(async () => {
  // A policy that fixes everything automatically: the assessment must still run in dry-run.
  policyDir = mkdtempSync(join(tmpdir(), "hipaa-risk-policy-"));
  const policyFile = join(policyDir, "policy.yaml");
  writeFileSync(policyFile, "defaultMode: auto\n");
  // One app only: synthesis bundles every function, and the machine is shared.
  weekly = await synthesise({ stage: "infra-risk", region: "us-east-1", settings: { policyFile } });
});

afterAll(() => {
  rmSync(policyDir, { recursive: true, force: true });
});

function assessmentFunction(synth: Synthesised) {
  return functionByHandler(synth.template("Sweep"), HANDLER);
}

function reportsBucketIds(synth: Synthesised): string[] {
  return resources(synth.template("Sweep"), "AWS::S3::Bucket").map(([id]) => id);
}

/** The Sweep stack's one bucket: the reports bucket. */
function reportsBucket(synth: Synthesised): [string, BucketProps] {
  const [bucket, ...others] = resources(synth.template("Sweep"), "AWS::S3::Bucket");
  if (bucket === undefined || others.length > 0) throw new Error("expected exactly one bucket (the reports bucket) in the Sweep stack");
  return [bucket[0], props<BucketProps>(bucket[1])];
}

describe("the risk assessment's reports bucket", () => {
  it("is the Sweep stack's only bucket: versioned, encrypted, private, ACLs off, kept with the stack's removal", () => {
    expect(reportsBucketIds(weekly)).toHaveLength(1);
    const [, bucket] = reportsBucket(weekly);
    expect(bucket).toMatchObject({
      VersioningConfiguration: { Status: "Enabled" },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
    });
    weekly.template("Sweep").hasResource("AWS::S3::Bucket", { DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
  });

  it("keeps every current report and expires only superseded versions", () => {
    const [, bucket] = reportsBucket(weekly);
    const rules = bucket.LifecycleConfiguration?.Rules ?? [];
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule.ExpirationInDays).toBeUndefined();
    expect(rules.some((rule) => rule.NoncurrentVersionExpiration !== undefined)).toBe(true);
  });

  it("refuses every request without TLS in its bucket policy", () => {
    const [bucketId] = reportsBucket(weekly);
    const policies = resources(weekly.template("Sweep"), "AWS::S3::BucketPolicy").map(([, policy]) =>
      props<{ Bucket: unknown; PolicyDocument: { Statement: Statement[] } }>(policy),
    );
    const own = policies.filter((policy) => JSON.stringify(policy.Bucket) === JSON.stringify({ Ref: bucketId }));
    expect(own).toHaveLength(1);
    expect(own[0]?.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "s3:*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }),
    );
  });

  it("is exported for auditors as RiskAssessmentBucketName", () => {
    expect(Object.keys(weekly.template("Sweep").findOutputs("RiskAssessmentBucketName"))).toHaveLength(1);
  });
});

describe("the risk assessment's schedule", () => {
  function scheduleOf(synth: Synthesised): RuleProps[] {
    const { id } = assessmentFunction(synth);
    return resources(synth.template("Sweep"), "AWS::Events::Rule")
      .map(([, rule]) => props<RuleProps>(rule))
      .filter((rule) => rule.Targets.some((target) => JSON.stringify(target.Arn).includes(id)));
  }

  it("runs weekly by default, without an immediate retry of a failed run", () => {
    expect(DEFAULT_RISK_ASSESSMENT_SCHEDULE).toBe("rate(7 days)");
    const [rule, ...others] = scheduleOf(weekly);
    expect(others).toEqual([]);
    expect(rule?.ScheduleExpression).toBe("rate(7 days)");
    expect(rule?.Targets[0]?.RetryPolicy?.MaximumRetryAttempts).toBe(0);
    weekly.template("Sweep").hasResourceProperties("AWS::Lambda::EventInvokeConfig", { MaximumRetryAttempts: 0 });
  });

  it("takes its schedule from HIPAA_RISK_ASSESSMENT_SCHEDULE, checked like the sweep's", () => {
    const fromEnv = (value: string) => settingsFromEnvironment({ HIPAA_RISK_ASSESSMENT_SCHEDULE: value }, "us-east-1", () => undefined);
    expect(fromEnv("cron(0 4 ? * MON-FRI *)").riskAssessmentSchedule).toBe("cron(0 4 ? * MON-FRI *)");
    expect(fromEnv("").riskAssessmentSchedule).toBe(DEFAULT_RISK_ASSESSMENT_SCHEDULE);
    expect(() => fromEnv("every monday")).toThrow(/riskAssessmentSchedule: expected an EventBridge schedule expression/);
  });

  it("raises an alarm when an assessment fails", () => {
    const { id } = assessmentFunction(weekly);
    const alarms = resources(weekly.template("Sweep"), "AWS::CloudWatch::Alarm").map(([, alarm]) =>
      props<{ MetricName?: string; Dimensions?: { Value: unknown }[]; AlarmActions?: unknown[] }>(alarm),
    );
    const errors = alarms.filter((alarm) => alarm.MetricName === "Errors" && JSON.stringify(alarm.Dimensions).includes(id));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.AlarmActions?.length).toBeGreaterThan(0);
  });
});

describe("the risk assessment function", () => {
  it("is told to force dry-run, with the tables, the bucket and the sweep's regions", () => {
    const variables = assessmentFunction(weekly).fn.Environment?.Variables ?? {};
    expect(variables.FORCE_DRY_RUN).toBe("true");
    expect(Object.keys(variables)).toEqual(
      expect.arrayContaining([
        "LOG_TABLE",
        "PROPOSALS_TABLE",
        "EXEMPTIONS_TABLE",
        "REPORTS_BUCKET",
        "SWEEP_REGIONS",
        "POLICY_FILE",
        "TOOL_VERSION",
      ]),
    );
    // Nothing that lets it propose or notify: no Slack token, no approval queue.
    expect(Object.keys(variables).filter((name) => /SLACK|QUEUE|IDEMPOTENCY|RATE_LIMIT/.test(name))).toEqual([]);
  });

  /** The role's statements other than its own log group and SST's tracing. */
  function dataStatements(): Statement[] {
    const sweep = weekly.template("Sweep");
    return roleStatements(sweep, assessmentFunction(weekly).roleId).filter(
      (s) => !actionsOf(s).some((action) => action.startsWith("logs:") || action.startsWith("xray:")),
    );
  }

  it("may only read what the controls detect with, never apply or roll back", () => {
    // The controls' statements are named Controls<Service> (controlPolicyStatements); the others are checked below.
    const controlsPart = dataStatements().filter((s) => s.Sid?.startsWith("Controls") === true);
    for (const statement of controlsPart) expect(statement.Effect).toBe("Allow");
    const allowed = new Set(controlsPart.flatMap(actionsOf).map((action) => action.toLowerCase()));
    const detect = controlActions(controls, ["detect"]).map((action) => action.toLowerCase());
    expect([...allowed].sort()).toEqual([...new Set(detect)].sort());
    const changes = controlActions(controls, ["apply", "rollback"])
      .map((action) => action.toLowerCase())
      .filter((action) => !detect.includes(action));
    expect(changes.length).toBeGreaterThan(0);
    for (const change of changes) expect(allowed.has(change)).toBe(false);
  });

  it("appends to the log, reads proposals and exemptions, and puts objects under risk-assessments/ in its bucket, nothing else", () => {
    const [bucketId] = reportsBucket(weekly);
    const statements = dataStatements().filter((s) => s.Sid?.startsWith("Controls") !== true);
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid ?? "", [...actionsOf(s)].sort()]));
    expect(bySid).toEqual({
      AppendToLog: ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
      ReadPendingProposals: ["dynamodb:Query"],
      ReadExemptions: ["dynamodb:Scan"],
      StoreReports: ["s3:PutObject"],
    });
    const store = statements.find((s) => s.Sid === "StoreReports");
    expect(JSON.stringify(store?.Resource)).toContain(bucketId);
    expect(JSON.stringify(store?.Resource)).toContain(`/${RISK_ASSESSMENT_PREFIX}*`);
    for (const statement of statements) expect(statement.Effect).toBe("Allow");
  });

  it("bundles its handler without any module of the CLI package", async () => {
    expect(assessmentFunction(weekly).fn.Handler).toBe(HANDLER);
    const bundle = await build({
      entryPoints: ["packages/functions/src/risk-assessment.ts"],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs).toContain("packages/core/src/report/risk-assessment.ts");
    expect(inputs.filter((input) => input.startsWith("packages/cli/") || input.includes("node_modules/commander/"))).toEqual([]);
  });
});
