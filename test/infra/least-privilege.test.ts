import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { ACCESS_DENIED_METRIC, controlActions } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { Stack } from "sst/constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAMBDA_RUNTIME, NODE_BUNDLING } from "../../stacks/lib/functions";
import { NEVER_ALLOWED_ACTIONS } from "../../stacks/lib/permissions-boundary";
import { MAX_RECEIVE_COUNT } from "../../stacks/lib/queues";
import { lintTemplates } from "../support/iam-linter";
import { APP_NAME, buildApp } from "./synth";
import { actionsOf, props, resources, resourcesOf, roleStatements, type CfnResource, type Statement } from "./template-queries";

/**
 * IAM, alarms, queues, runtime and encryption of the home region under three policies. These apps are synthesised
 * without app.finish(): nothing here depends on the bundles (stacks.test.ts builds those), and skipping esbuild
 * keeps three more apps affordable.
 */
/** Functions by construct id: before app.finish() builds them, SST has not set their handlers yet. */
const FUNCTIONS = {
  engine: "EngineFunction",
  sweep: "SweepFunction",
  worker: "ApprovalWorker",
  housekeeping: "ProposalHousekeeping",
  logAnchor: "LogAnchor",
  logExport: "LogExport",
} as const;

/** A function's logical id (its construct id and CDK's 8-character hash) and its role's. */
function functionById(template: Template, constructId: string): { id: string; fn: CfnResource; roleId: string } {
  const match = resources(template, "AWS::Lambda::Function").find(([id]) => new RegExp(`^${constructId}[0-9A-F]{8}$`).test(id));
  if (match === undefined) throw new Error(`No function ${constructId}`);
  const [id, fn] = match;
  return { id, fn, roleId: props<{ Role: { "Fn::GetAtt": [string, string] } }>(fn).Role["Fn::GetAtt"][0] };
}

const ALARM_EMAIL = "security-alarms@example.org";
const ids = controls.map((control) => control.id);
const everyControl = (mode: string) => ["controls:", ...ids.map((id) => `  ${id}:\n    mode: ${mode}`)].join("\n");

/** Every control in dry-run, whatever its own default. */
const DRY_RUN_POLICY = `defaultMode: dry-run\n${everyControl("dry-run")}\n`;
/** Versioning fixed automatically, stale keys on approval, an override that raises RDS deletion protection to auto. */
const MIXED_POLICY = [
  "defaultMode: dry-run",
  everyControl("dry-run")
    .replace("s3-bucket-versioning:\n    mode: dry-run", "s3-bucket-versioning:\n    mode: auto")
    .replace("iam-access-key-stale:\n    mode: dry-run", "iam-access-key-stale:\n    mode: approve"),
  "overrides:",
  "  - match:",
  "      controls: [rds-deletion-protection]",
  "      tags: { Environment: dev }",
  "    mode: auto",
  "",
].join("\n");
const ALL_AUTO_POLICY = `defaultMode: auto\n${everyControl("auto")}\n`;

interface App {
  stackIds: string[];
  template(stackId: string): Template;
}

async function synthesiseWithoutBundles(stage: string, policyFile: string, settings: Record<string, string> = {}): Promise<App> {
  const app = await buildApp({ stage, region: "us-east-1", settings: { policyFile, ...settings } });
  const prefix = `${stage}-${APP_NAME}-`;
  const stacks = new Map(
    app.node.children.filter((child): child is Stack => child instanceof Stack).map((stack) => [stack.node.id.slice(prefix.length), stack]),
  );
  const templates = new Map([...stacks].map(([id, stack]) => [id, Template.fromStack(stack)]));
  return {
    stackIds: [...stacks.keys()],
    template(stackId) {
      const template = templates.get(stackId);
      if (template === undefined) throw new Error(`No stack ${stackId}`);
      return template;
    },
  };
}

const allControlActions = new Set(controlActions(controls).map((a) => a.toLowerCase()));
const detectActions = new Set(controlActions(controls, ["detect"]).map((a) => a.toLowerCase()));
const applyActions = new Set(controlActions(controls, ["apply"]).map((a) => a.toLowerCase()));
const rollbackOnly = [...new Set(controlActions(controls, ["rollback"]).map((a) => a.toLowerCase()))].filter(
  (a) => !applyActions.has(a) && !detectActions.has(a),
);

function roleOf(app: App, stackId: string, constructId: string): Statement[] {
  const template = app.template(stackId);
  return roleStatements(template, functionById(template, constructId).roleId);
}

/** The control actions a role is allowed (its own tables, queues and logs left out). */
function allowedControlActions(statements: Statement[]): Set<string> {
  return new Set(
    statements
      .filter((s) => s.Effect === "Allow")
      .flatMap((s) => actionsOf(s).map((a) => a.toLowerCase()))
      .filter((a) => allControlActions.has(a)),
  );
}

const REMEDIATORS: [string, string][] = [
  ["Engine", FUNCTIONS.engine],
  ["Sweep", FUNCTIONS.sweep],
  ["Approvals", FUNCTIONS.worker],
];

let dir: string;
let dryRun: App;
let mixed: App;
let allAuto: App;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hipaa-least-privilege-"));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  dryRun = await synthesiseWithoutBundles("lp-dry", file("dry-run.yaml", DRY_RUN_POLICY));
  mixed = await synthesiseWithoutBundles("lp-mixed", file("mixed.yaml", MIXED_POLICY));
  allAuto = await synthesiseWithoutBundles("lp-auto", file("auto.yaml", ALL_AUTO_POLICY), {
    alarmEmail: ALARM_EMAIL,
    encryptionKey: "customer-managed",
  });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function everyTemplate(app: App): [string, Template][] {
  return app.stackIds.map((id) => [id, app.template(id)]);
}

describe("roles follow the policy's modes", () => {
  it("has rollback-only actions to leave out, so the checks below are not vacuous", () => {
    expect(rollbackOnly).toEqual(
      expect.arrayContaining(["s3:deletebucketpolicy", "kms:schedulekeydeletion", "ec2:authorizesecuritygroupingress"]),
    );
  });

  it.each(REMEDIATORS)("lets the %s role of a dry-run-only deployment only read", (stackId, handler) => {
    const granted = allowedControlActions(roleOf(dryRun, stackId, handler));
    expect(granted.size).toBeGreaterThan(0);
    expect([...granted].filter((a) => !detectActions.has(a))).toEqual([]);
    expect([...detectActions].filter((a) => !granted.has(a))).toEqual([]);
  });

  it("gives a mixed policy's apply actions to the functions that apply in each mode", () => {
    const engine = allowedControlActions(roleOf(mixed, "Engine", FUNCTIONS.engine));
    const sweep = allowedControlActions(roleOf(mixed, "Sweep", FUNCTIONS.sweep));
    const worker = allowedControlActions(roleOf(mixed, "Approvals", FUNCTIONS.worker));
    // auto: the engine and the sweep fix it; the worker too, for proposals made past the rate limit.
    for (const role of [engine, sweep, worker]) expect(role).toContain("s3:putbucketversioning");
    // An override can raise a dry-run control to auto for some resources.
    for (const role of [engine, sweep, worker]) expect(role).toContain("rds:modifydbinstance");
    // approve: only the worker applies.
    expect(worker).toContain("iam:updateaccesskey");
    expect(engine).not.toContain("iam:updateaccesskey");
    expect(sweep).not.toContain("iam:updateaccesskey");
    // dry-run controls: nothing beyond detection.
    for (const role of [engine, sweep, worker]) {
      expect(role).not.toContain("s3:putbucketpolicy");
      expect(role).not.toContain("ec2:modifyinstanceattribute");
    }
  });

  it.each(REMEDIATORS)("gives the %s role of an all-auto deployment every apply action and no rollback-only one", (stackId, handler) => {
    const granted = allowedControlActions(roleOf(allAuto, stackId, handler));
    expect([...applyActions].filter((a) => !granted.has(a))).toEqual([]);
    expect(rollbackOnly.filter((a) => granted.has(a))).toEqual([]);
  });

  it("gives no apply action to a deployment whose kill switch falls back to dry-run", async () => {
    const policyFile = join(dir, "killed.yaml");
    writeFileSync(policyFile, `${ALL_AUTO_POLICY}killSwitch:\n  engaged: true\n  fallback: dry-run\n`);
    const killed = await synthesiseWithoutBundles("lp-killed", policyFile);
    for (const [stackId, handler] of REMEDIATORS) {
      const granted = allowedControlActions(roleOf(killed, stackId, handler));
      expect(
        [...granted].filter((a) => !detectActions.has(a)),
        stackId,
      ).toEqual([]);
    }
  });

  it("leaves rollback to the operator: no deployed handler calls it", () => {
    const sources = (path: string): string[] =>
      readdirSync(path).flatMap((name) => {
        const full = join(path, name);
        return statSync(full).isDirectory() ? sources(full) : full.endsWith(".ts") ? [full] : [];
      });
    const handlers = sources(join(import.meta.dirname, "../../packages/functions/src"));
    expect(handlers.length).toBeGreaterThan(5);
    for (const file of handlers) expect(readFileSync(file, "utf8"), file).not.toMatch(/rollback/i);
  });
});

describe("the dangerous grants are narrowed (all-auto deployment)", () => {
  const engine = () => roleOf(allAuto, "Engine", FUNCTIONS.engine);
  const grantsOf = (action: string) => engine().filter((s) => s.Effect === "Allow" && actionsOf(s).includes(action));

  it("denies rewriting an instance's user data, kernel or ramdisk", () => {
    const denials = engine().filter((s) => s.Effect === "Deny" && actionsOf(s).includes("ec2:ModifyInstanceAttribute"));
    expect(denials.map((s) => s.Condition)).toEqual(
      ["UserData", "Kernel", "Ramdisk"].map((attribute) => ({ Null: { [`ec2:Attribute/${attribute}`]: "false" } })),
    );
  });

  it("writes bucket policies and public access blocks only in the engine's account", () => {
    for (const action of ["s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"]) {
      const grants = grantsOf(action);
      expect(grants, action).toHaveLength(1);
      expect(Object.keys(grants[0]?.Condition?.StringEquals ?? {}), action).toEqual(["s3:ResourceAccount"]);
    }
  });

  it("updates access keys in a statement of their own, on the account's users only", () => {
    const grants = grantsOf("iam:UpdateAccessKey");
    expect(grants).toHaveLength(1);
    expect(actionsOf(grants[0] as Statement)).toEqual(["iam:UpdateAccessKey"]);
    expect(JSON.stringify(resourcesOf(grants[0] as Statement))).toContain(":user/*");
    expect(resourcesOf(grants[0] as Statement)).not.toContain("*");
  });

  it("limits tag writes to the engine's keys, or to tagging what the engine creates", () => {
    // Removing tags is rollback-only, so no role holds it.
    expect(grantsOf("ec2:DeleteTags")).toEqual([]);
    for (const action of ["dynamodb:TagResource", "rds:AddTagsToResource", "cloudtrail:AddTags", "guardduty:TagResource"]) {
      const grants = grantsOf(action);
      expect(grants, action).toHaveLength(1);
      expect(grants[0]?.Condition, action).toEqual({
        "ForAllValues:StringLike": { "aws:TagKeys": ["hipaa-remediate:*"] },
        Null: { "aws:TagKeys": "false" },
      });
    }
    const createTags = grantsOf("ec2:CreateTags").map((s) => s.Condition);
    expect(createTags).toHaveLength(2);
    expect(createTags).toContainEqual({
      StringEquals: { "ec2:CreateAction": ["CreateVolume", "CreateSnapshot", "CopySnapshot", "CreateSecurityGroup"] },
    });
    expect(createTags).toContainEqual(expect.objectContaining({ "ForAllValues:StringLike": { "aws:TagKeys": ["hipaa-remediate:*"] } }));
  });

  it("passes roles to AWS Config only", () => {
    expect(grantsOf("iam:PassRole").map((s) => s.Condition)).toEqual([{ StringEquals: { "iam:PassedToService": "config.amazonaws.com" } }]);
  });

  it("passes the independent IAM check: no permissions-management action on * that IAM could narrow, no unknown action", () => {
    for (const app of [dryRun, mixed, allAuto]) {
      const templates = Object.fromEntries(everyTemplate(app).map(([id, template]) => [id, template.toJSON()]));
      expect(lintTemplates(templates)).toEqual([]);
    }
  });
});

describe("permissions boundaries", () => {
  interface RoleProps {
    PermissionsBoundary?: { Ref: string };
  }
  interface ManagedPolicyProps {
    PolicyDocument: { Statement: Statement[] };
  }

  it("gives every role of every stack a boundary from its own stack, holding everything the role is allowed", () => {
    for (const app of [dryRun, allAuto]) {
      for (const [stackId, template] of everyTemplate(app)) {
        for (const [roleId, role] of resources(template, "AWS::IAM::Role")) {
          const boundaryId = props<RoleProps>(role).PermissionsBoundary?.Ref;
          expect(boundaryId, `${stackId}/${roleId}`).toBeDefined();
          const boundary = resources(template, "AWS::IAM::ManagedPolicy").find(([id]) => id === boundaryId)?.[1] as CfnResource;
          const ceiling = props<ManagedPolicyProps>(boundary).PolicyDocument.Statement.map((s) => JSON.stringify(s));
          for (const statement of roleStatements(template, roleId).filter((s) => s.Effect === "Allow")) {
            expect(ceiling, `${stackId}/${roleId} ${statement.Sid ?? ""}`).toContain(JSON.stringify(statement));
          }
          const denied = props<ManagedPolicyProps>(boundary).PolicyDocument.Statement.find((s) => s.Sid === "NeverEscalateOrBlindTheTrail");
          expect(denied?.Effect).toBe("Deny");
          expect(denied && actionsOf(denied)).toEqual([...NEVER_ALLOWED_ACTIONS]);
        }
      }
    }
  });

  it("denies no action a control applies", () => {
    const never = new Set(NEVER_ALLOWED_ACTIONS.map((a) => a.toLowerCase()));
    expect([...applyActions, ...detectActions].filter((a) => never.has(a))).toEqual([]);
  });
});

describe("alarms reach a person", () => {
  interface AlarmProps {
    AlarmActions?: unknown[];
    MetricName?: string;
    Namespace?: string;
    Dimensions?: { Name: string; Value: unknown }[];
  }
  const alarms = (app: App) =>
    everyTemplate(app).flatMap(([stackId, t]) =>
      resources(t, "AWS::CloudWatch::Alarm").map(([id, a]) => ({ stackId, id, alarm: props<AlarmProps>(a) })),
    );

  it("gives every alarm the alarm topic as its action", () => {
    const found = alarms(allAuto);
    expect(found.length).toBeGreaterThan(8);
    const [[topicId]] = resources(allAuto.template("Operations"), "AWS::SNS::Topic") as [[string, CfnResource]];
    for (const { stackId, id, alarm } of found) {
      expect(alarm.AlarmActions, `${stackId}/${id}`).toHaveLength(1);
      expect(JSON.stringify(alarm.AlarmActions), `${stackId}/${id}`).toContain(stackId === "Operations" ? topicId : `Ref${topicId}`);
    }
  });

  it("subscribes HIPAA_ALARM_EMAIL to the topic, and no one when it is not set", () => {
    allAuto.template("Operations").hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: ALARM_EMAIL });
    expect(resources(dryRun.template("Operations"), "AWS::SNS::Subscription")).toEqual([]);
  });

  it("alarms on every dead-letter queue, and on the engine queue's oldest message", () => {
    for (const [, template] of everyTemplate(allAuto)) {
      const deadLetterIds = resources(template, "AWS::SQS::Queue").flatMap(([, q]) => {
        const redrive = props<{ RedrivePolicy?: { deadLetterTargetArn: { "Fn::GetAtt": [string, string] } } }>(q).RedrivePolicy;
        return redrive ? [redrive.deadLetterTargetArn["Fn::GetAtt"][0]] : [];
      });
      for (const queueId of deadLetterIds) {
        template.hasResourceProperties("AWS::CloudWatch::Alarm", {
          MetricName: "ApproximateNumberOfMessagesVisible",
          Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queueId, "QueueName"] } }],
        });
      }
    }
    const engineQueueAge = alarms(allAuto).filter(
      ({ stackId, alarm }) => stackId === "Ingestion" && alarm.MetricName === "ApproximateAgeOfOldestMessage",
    );
    expect(engineQueueAge).toHaveLength(1);
  });

  it.each([
    ["Engine", FUNCTIONS.engine],
    ["Approvals", FUNCTIONS.worker],
  ])("alarms on the %s consumer's errors and throttles", (stackId, handler) => {
    const { id } = functionById(allAuto.template(stackId), handler);
    const metrics = alarms(allAuto)
      .filter(({ alarm }) => JSON.stringify(alarm.Dimensions ?? []).includes(`"Ref":"${id}"`))
      .map(({ alarm }) => alarm.MetricName)
      .sort();
    expect(metrics).toEqual(["Errors", "Throttles"]);
  });

  it("alarms on the first access-denied answer in any account, from the metric the engine emits", () => {
    const denied = alarms(allAuto).filter(
      ({ alarm }) => alarm.Namespace === ACCESS_DENIED_METRIC.namespace && alarm.MetricName === ACCESS_DENIED_METRIC.name,
    );
    expect(denied.map(({ stackId }) => stackId)).toEqual(["Engine"]);
    expect(denied[0]?.alarm.Dimensions ?? []).toEqual([]);
  });

  it("alarms on 5xx answers of the Slack endpoint", () => {
    allAuto.template("Approvals").hasResourceProperties("AWS::CloudWatch::Alarm", { Namespace: "AWS/ApiGateway", MetricName: "5xx" });
  });

  it("sends every failed scheduled run to a queue that raises an alarm", () => {
    const scheduled = [
      ["Sweep", FUNCTIONS.sweep],
      ["Approvals", FUNCTIONS.housekeeping],
      ["AuditLog", FUNCTIONS.logAnchor],
      ["AuditLog", FUNCTIONS.logExport],
    ] as const;
    for (const [stackId, handler] of scheduled) {
      const template = allAuto.template(stackId);
      const { id } = functionById(template, handler);
      const config = resources(template, "AWS::Lambda::EventInvokeConfig")
        .map(([, c]) =>
          props<{ FunctionName: unknown; DestinationConfig?: { OnFailure?: { Destination: { "Fn::GetAtt": [string, string] } } } }>(c),
        )
        .find((c) => JSON.stringify(c.FunctionName).includes(id));
      const queueId = config?.DestinationConfig?.OnFailure?.Destination["Fn::GetAtt"][0];
      expect(queueId, handler).toBeDefined();
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queueId, "QueueName"] } }],
      });
    }
  });
});

describe("queues, concurrency and runtime", () => {
  it("keeps every message 14 days, and still dead-letters after repeated failures", () => {
    const queues = everyTemplate(allAuto).flatMap(([, t]) => resources(t, "AWS::SQS::Queue"));
    expect(queues.length).toBeGreaterThanOrEqual(7);
    for (const [id, queue] of queues)
      expect(props<{ MessageRetentionPeriod?: number }>(queue).MessageRetentionPeriod, id).toBe(14 * 24 * 3600);
    const redrives = queues.flatMap(([, q]) => props<{ RedrivePolicy?: { maxReceiveCount: number } }>(q).RedrivePolicy ?? []);
    expect(redrives.map((r) => r.maxReceiveCount)).toEqual([MAX_RECEIVE_COUNT, MAX_RECEIVE_COUNT]);
  });

  it.each([
    ["Engine", FUNCTIONS.engine, 5],
    ["Approvals", FUNCTIONS.worker, 2],
  ])("reserves the %s consumer's concurrency at its event source mapping's maximum", (stackId, handler, expected) => {
    const template = allAuto.template(stackId);
    const { id, fn } = functionById(template, handler);
    const [mapping] = resources(template, "AWS::Lambda::EventSourceMapping").filter(([, m]) => JSON.stringify(props(m)).includes(id));
    expect(props<{ ReservedConcurrentExecutions?: number }>(fn).ReservedConcurrentExecutions).toBe(expected);
    expect(props<{ ScalingConfig?: { MaximumConcurrency: number } }>(mapping?.[1] as CfnResource).ScalingConfig?.MaximumConcurrency).toBe(
      expected,
    );
  });

  it("runs every function, the constructs' own included, on nodejs22.x, bundled for Node 22", () => {
    const functions = everyTemplate(allAuto).flatMap(([, t]) => resources(t, "AWS::Lambda::Function"));
    expect(functions.length).toBeGreaterThan(8);
    for (const [id, fn] of functions) expect(props<{ Runtime?: string }>(fn).Runtime, id).toBe("nodejs22.x");
    expect(LAMBDA_RUNTIME).toBe("nodejs22.x");
    expect(NODE_BUNDLING.esbuild.target).toBe("node22");
  });
});

describe("encryption", () => {
  interface Encrypted {
    KmsMasterKeyId?: unknown;
    SqsManagedSseEnabled?: boolean;
    SSESpecification?: { SSEEnabled: boolean; SSEType?: string; KMSMasterKeyId?: unknown };
    KmsKeyId?: unknown;
    BucketEncryption?: {
      ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: { SSEAlgorithm: string; KMSMasterKeyID?: unknown } }[];
    };
  }
  const ofType = (app: App, type: string) =>
    everyTemplate(app).flatMap(([, t]) => resources(t, type).map(([id, r]) => [id, props<Encrypted>(r)] as const));

  it("uses the customer-managed key for queues, tables, log groups and the audit and report buckets when configured", () => {
    const [[keyId, key]] = resources(allAuto.template("Operations"), "AWS::KMS::Key") as [[string, CfnResource]];
    expect(props<{ EnableKeyRotation?: boolean }>(key).EnableKeyRotation).toBe(true);
    const usesKey = (value: unknown) => JSON.stringify(value ?? null).includes(keyId);
    for (const [id, queue] of ofType(allAuto, "AWS::SQS::Queue")) expect(usesKey(queue.KmsMasterKeyId), id).toBe(true);
    for (const [id, table] of ofType(allAuto, "AWS::DynamoDB::Table"))
      expect(usesKey(table.SSESpecification?.KMSMasterKeyId), id).toBe(true);
    const projectLogs = ofType(allAuto, "AWS::Logs::LogGroup").filter(([id]) => !id.startsWith("SlackApi"));
    expect(projectLogs.length).toBeGreaterThan(5);
    for (const [id, logs] of projectLogs) expect(usesKey(logs.KmsKeyId), id).toBe(true);
    const buckets = ofType(allAuto, "AWS::S3::Bucket");
    expect(buckets.map(([id]) => id).sort()).toEqual([
      expect.stringMatching(/^AuditArchive/),
      expect.stringMatching(/^RiskAssessmentReports/),
    ]);
    for (const [id, bucket] of buckets) {
      const rule = bucket.BucketEncryption?.ServerSideEncryptionConfiguration[0]?.ServerSideEncryptionByDefault;
      expect(rule?.SSEAlgorithm, id).toBe("aws:kms");
      expect(usesKey(rule?.KMSMasterKeyID), id).toBe(true);
    }
  });

  it("keeps AWS-managed encryption by default", () => {
    expect(resources(dryRun.template("Operations"), "AWS::KMS::Key")).toEqual([]);
    for (const [id, queue] of ofType(dryRun, "AWS::SQS::Queue")) expect(queue.SqsManagedSseEnabled, id).toBe(true);
    for (const [id, table] of ofType(dryRun, "AWS::DynamoDB::Table")) expect(table.SSESpecification?.KMSMasterKeyId, id).toBeUndefined();
  });
});
