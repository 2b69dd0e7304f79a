import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { CfnElement } from "aws-cdk-lib";
import { Match, type Template } from "aws-cdk-lib/assertions";
import {
  CLOUDTRAIL_DETAIL_TYPE,
  LOG_BY_EVENT_INDEX,
  LOG_TABLE_KEYS,
  PolicyError,
  controlActions,
  parsePolicy,
  parseSlackContext,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { SSTConfig } from "sst";
import { App } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import { load } from "sst/stacks/build.js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_FACTOR } from "../../stacks/lib/queues";
import { SettingsError } from "../../stacks/lib/settings";
import { APP_NAME, buildApp, synthesise, TEST_ACCOUNT, type Synthesised } from "./synth";
import {
  actionsOf,
  functionByHandler,
  identityStatements,
  projectFunctions,
  props,
  resourcePolicyStatements,
  resources,
  resourcesOf,
  roleStatements,
  type CfnResource,
  type Statement,
} from "./template-queries";

const HANDLERS = {
  engine: "packages/functions/src/engine.handler",
  sweep: "packages/functions/src/sweep.handler",
  interactivity: "packages/functions/src/slack-interactivity.handler",
  worker: "packages/functions/src/approval-worker.handler",
  housekeeping: "packages/functions/src/proposal-housekeeping.handler",
  logAnchor: "packages/functions/src/log-anchor.handler",
  logExport: "packages/functions/src/log-export.handler",
  riskAssessment: "packages/functions/src/risk-assessment.handler",
} as const;

const HOME_STACKS = ["Operations", "AuditLog", "State", "Ingestion", "Engine", "Approvals", "Sweep"];
const SLACK_CHANNEL = "C0123456789";
const APPROVER_ID = "U0APPROVER1";
/** The home app's policy sets seven years; the eu-west-1 app has no policy file and gets the six-year default. */
const AUDIT_RETENTION_DAYS = 2555;

/** The registry's source/name triggers, straight from the controls: what the rules must match, no more and no less. */
const expectedTriggers = new Set(
  controls.flatMap((control) => control.triggers.filter((t) => !t.actor).map((t) => `${t.source} ${t.name}`)),
);
/** The registry's identity trigger: any root activity, API calls and console sign-ins, and nothing else. */
const ROOT_PATTERN = {
  "detail-type": [CLOUDTRAIL_DETAIL_TYPE, "AWS Console Sign In via CloudTrail"],
  detail: { userIdentity: { type: ["Root"] } },
};
const globalSources = new Set([
  "iam.amazonaws.com",
  "sts.amazonaws.com",
  "cloudfront.amazonaws.com",
  "route53.amazonaws.com",
  "organizations.amazonaws.com",
]);

interface EventPattern {
  source?: string[];
  "detail-type": string[];
  detail: { eventSource?: string[]; eventName?: string[]; userIdentity?: { type: string[] } };
}

interface RuleProps {
  EventPattern?: EventPattern;
  ScheduleExpression?: string;
  Targets: { Arn: unknown; RoleArn?: unknown; DeadLetterConfig?: { Arn: unknown } }[];
}

function rules(template: Template): RuleProps[] {
  return resources(template, "AWS::Events::Rule").map(([, rule]) => props<RuleProps>(rule));
}

/** The (eventSource, eventName) pairs of the source/name patterns; identity patterns are checked on their own. */
function triggerPairs(patterns: EventPattern[]): string[] {
  return servicePatterns(patterns).flatMap((p) =>
    (p.detail.eventSource ?? []).flatMap((source) => (p.detail.eventName ?? []).map((name) => `${source} ${name}`)),
  );
}

function servicePatterns(patterns: EventPattern[]): EventPattern[] {
  return patterns.filter((p) => p.detail.userIdentity === undefined);
}

function identityPatterns(patterns: EventPattern[]): EventPattern[] {
  return patterns.filter((p) => p.detail.userIdentity !== undefined);
}

function declaredActions(): string[] {
  return controls.flatMap((c) => [...c.permissions.detect, ...c.permissions.apply, ...c.permissions.rollback]);
}

function allowedActions(statements: Statement[]): Set<string> {
  return new Set(statements.filter((s) => s.Effect === "Allow").flatMap((s) => actionsOf(s).map((a) => a.toLowerCase())));
}

/** Whether a statement names a table another stack exports (e.g. the proposals table, from State), or its indexes. */
function refersToTable(statement: Statement, stackId: string, tableId: string): boolean {
  const stack = home.stack(stackId);
  const table = stack.node.findChild(tableId).node.defaultChild;
  if (!(table instanceof CfnElement)) throw new Error(`${stackId}/${tableId} is not a CloudFormation resource`);
  return JSON.stringify(statement.Resource ?? null).includes(`:ExportsOutputFnGetAtt${stack.getLogicalId(table)}Arn`);
}

/** The schedules that invoke the sweep function (the Sweep stack also schedules the risk assessment). */
function sweepSchedules(synth: Synthesised): (string | undefined)[] {
  const template = synth.template("Sweep");
  const { id } = functionByHandler(template, HANDLERS.sweep);
  return rules(template)
    .filter((rule) => rule.Targets.some((target) => JSON.stringify(target.Arn).includes(id)))
    .map((rule) => rule.ScheduleExpression);
}

function everyTemplate(synth: Synthesised): [string, Template][] {
  return synth.stackIds.map((id) => [id, synth.template(id)]);
}

const INVALID_POLICY = ["defaultMode: autoo", "rateLimit:", "  maxAutoFixes: -1", ""].join("\n");

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

// One file synthesises every app: SST's App rewrites .sst/types on construction, so apps built by parallel
// test files could race on it.
let policyDir: string;
let home: Synthesised;

beforeAll(async () => {
  policyDir = mkdtempSync(join(tmpdir(), "hipaa-infra-policy-"));
  const policyFile = join(policyDir, "policy.yaml");
  writeFileSync(
    policyFile,
    `defaultMode: approve\nslack:\n  channel: ${SLACK_CHANNEL}\napprovers:\n  users: [${APPROVER_ID}]\naudit:\n  retentionDays: ${AUDIT_RETENTION_DAYS}\n`,
  );
  home = await synthesise({ stage: "infra-use1", region: "us-east-1", settings: { policyFile } });
});

afterAll(() => {
  rmSync(policyDir, { recursive: true, force: true });
});

describe("the registry under test", () => {
  // Guards against vacuous passes below: the headline controls include a regional and a global-service trigger.
  it("has triggers and permissions, including a global service's trigger", () => {
    expect(expectedTriggers.size).toBeGreaterThan(0);
    expect(declaredActions().length).toBeGreaterThan(0);
    expect([...expectedTriggers].some((pair) => globalSources.has(pair.split(" ")[0] ?? ""))).toBe(true);
  });
});

describe("home region us-east-1", () => {
  it("holds the home stacks and no forwarder", () => {
    expect(home.stackIds.sort()).toEqual([...HOME_STACKS].sort());
  });

  it("routes exactly the registry's triggers, as CloudTrail patterns, to the engine queue", () => {
    const ingestion = home.template("Ingestion");
    const found = rules(ingestion);
    const patterns = found.map((rule) => rule.EventPattern).filter((p): p is EventPattern => p !== undefined);
    expect(patterns).toHaveLength(found.length);
    expect(triggerPairs(patterns).sort()).toEqual([...expectedTriggers].sort());
    for (const pattern of servicePatterns(patterns)) {
      expect(pattern["detail-type"]).toEqual([CLOUDTRAIL_DETAIL_TYPE]);
      expect(pattern.detail.eventSource).toHaveLength(1);
      expect(pattern.source).toEqual([`aws.${pattern.detail.eventSource?.[0]?.split(".")[0]}`]);
    }
    // Root activity of any service, matched on the caller's identity type: no event of another caller gets through.
    expect(identityPatterns(patterns)).toEqual([ROOT_PATTERN]);
    const [queueId] = resources(ingestion, "AWS::SQS::Queue").find(([, q]) => props<{ RedrivePolicy?: unknown }>(q).RedrivePolicy) ?? [];
    for (const rule of found) expect(rule.Targets).toEqual([expect.objectContaining({ Arn: { "Fn::GetAtt": [queueId, "Arn"] } })]);
  });

  it("lets EventBridge send to the engine queue only from these rules", () => {
    const ingestion = home.template("Ingestion");
    const ruleIds = resources(ingestion, "AWS::Events::Rule").map(([id]) => id);
    const sends = resourcePolicyStatements(ingestion)
      .map(({ statement }) => statement)
      .filter((s) => s.Effect === "Allow" && actionsOf(s).includes("sqs:SendMessage"));
    const sourceArns = sends.flatMap((s) => {
      const condition = s.Condition?.ArnEquals?.["aws:SourceArn"];
      return condition === undefined ? [] : [condition];
    });
    expect(sends.every((s) => JSON.stringify(s.Principal).includes("events.amazonaws.com"))).toBe(true);
    expect(sourceArns).toEqual(expect.arrayContaining(ruleIds.map((id) => ({ "Fn::GetAtt": [id, "Arn"] }))));
    expect(sends.every((s) => s.Condition !== undefined)).toBe(true);
  });

  it("dead-letters engine messages after repeated failures and alarms on the first one", () => {
    const ingestion = home.template("Ingestion");
    const engineTimeout = functionByHandler(home.template("Engine"), HANDLERS.engine).fn.Timeout ?? 0;
    const queues = resources(ingestion, "AWS::SQS::Queue");
    const main = queues.find(([, q]) => props<{ RedrivePolicy?: unknown }>(q).RedrivePolicy !== undefined);
    expect(main).toBeDefined();
    const [, queue] = main ?? [];
    const { RedrivePolicy, VisibilityTimeout } = props<{
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [string, string] }; maxReceiveCount: number };
      VisibilityTimeout: number;
    }>(queue ?? { Type: "" });
    expect(RedrivePolicy.maxReceiveCount).toBe(MAX_RECEIVE_COUNT);
    expect(VisibilityTimeout).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_FACTOR * engineTimeout);
    const deadLetterId = RedrivePolicy.deadLetterTargetArn["Fn::GetAtt"][0];
    ingestion.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ApproximateNumberOfMessagesVisible",
      Namespace: "AWS/SQS",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [deadLetterId, "QueueName"] } }],
    });
  });

  it("encrypts every queue and refuses every request without TLS", () => {
    for (const [stackId, template] of everyTemplate(home)) {
      const queues = resources(template, "AWS::SQS::Queue");
      for (const [queueId, queue] of queues) {
        expect(props<{ SqsManagedSseEnabled?: boolean }>(queue).SqsManagedSseEnabled, `${stackId}/${queueId}`).toBe(true);
        template.hasResourceProperties("AWS::SQS::QueuePolicy", {
          Queues: Match.arrayWith([{ Ref: queueId }]),
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: "Deny",
                Action: "sqs:*",
                Principal: { AWS: "*" },
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              }),
            ]),
          },
        });
      }
    }
  });

  it("has the engine and the approval worker report failed records one by one", () => {
    const engine = home.template("Engine");
    engine.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: functionByHandler(engine, HANDLERS.engine).id },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BatchSize: 10,
    });
    const approvals = home.template("Approvals");
    approvals.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: functionByHandler(approvals, HANDLERS.worker).id },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("runs every function on Node.js 22 and arm64", () => {
    const functions = everyTemplate(home).flatMap(([, template]) => projectFunctions(template));
    expect(functions.map(([, fn]) => fn.Handler).sort()).toEqual(Object.values(HANDLERS).sort());
    for (const [, fn] of functions) {
      expect(fn.Runtime).toBe("nodejs22.x");
      expect(fn.Architectures).toEqual(["arm64"]);
    }
  });

  it("grants no wildcard action anywhere: identity policies, and every Allow in resource policies", () => {
    for (const [stackId, template] of everyTemplate(home)) {
      for (const { where, statement } of identityStatements(template)) {
        for (const action of actionsOf(statement)) expect(action, `${stackId}/${where}`).not.toContain("*");
      }
      for (const { where, statement } of resourcePolicyStatements(template).filter(({ statement: s }) => s.Effect === "Allow")) {
        for (const action of actionsOf(statement)) expect(action, `${stackId}/${where}`).not.toContain("*");
      }
    }
  });

  // The home policy sets defaultMode approve: the worker applies every control's fixes, the engine and the sweep
  // (which apply only auto decisions) only detect, and nobody holds a rollback-only action (least-privilege.test.ts).
  it.each([
    ["Engine", HANDLERS.engine, ["detect"]],
    ["Sweep", HANDLERS.sweep, ["detect"]],
    ["Approvals", HANDLERS.worker, ["detect", "apply"]],
  ] as const)("gives the %s role (%s) the permissions the controls declare for %j", (stackId, handler, phases) => {
    const template = home.template(stackId);
    const granted = allowedActions(roleStatements(template, functionByHandler(template, handler).roleId));
    for (const action of controlActions(controls, phases)) expect(granted, action).toContain(action.toLowerCase());
    const kept = new Set(controlActions(controls, ["detect", "apply"]).map((a) => a.toLowerCase()));
    const rollbackOnly = controlActions(controls, ["rollback"]).filter((a) => !kept.has(a.toLowerCase()));
    expect(rollbackOnly.length).toBeGreaterThan(0);
    for (const action of rollbackOnly) expect(granted, action).not.toContain(action.toLowerCase());
  });

  it("scopes table, queue and secret access to their ARNs", () => {
    const engine = home.template("Engine");
    const statements = roleStatements(engine, functionByHandler(engine, HANDLERS.engine).roleId);
    // The controls' own statements (Sid Controls…) act on whatever customer table or queue they find, so only the
    // engine's own access is checked for scoping here; the guard below keeps the controls off the engine's tables.
    const scoped = statements.filter(
      (s) => !String(s.Sid).startsWith("Controls") && actionsOf(s).some((a) => /^(dynamodb|sqs|ssm|logs):/.test(a)),
    );
    expect(scoped.length).toBeGreaterThan(0);
    for (const statement of scoped) expect(resourcesOf(statement), JSON.stringify(statement)).not.toContain("*");
    const guard = statements.find((s) => s.Sid === "ControlsNeverChangeEngineTables");
    expect(guard?.Effect).toBe("Deny");
    expect(guard && actionsOf(guard)).toEqual(expect.arrayContaining(["dynamodb:UpdateContinuousBackups", "dynamodb:TagResource"]));
    expect(JSON.stringify(guard && resourcesOf(guard))).not.toContain('"*"');
    const logAccess = statements.find((s) => s.Sid === "AppendToLog");
    expect(logAccess && actionsOf(logAccess).sort()).toEqual([
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
    ]);
    const queueAccess = statements.find((s) => s.Sid === "ConsumeEngineFunctionQueue");
    expect(queueAccess && actionsOf(queueAccess).sort()).toEqual(
      ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"].sort(),
    );
    const secrets = statements.filter((s) => actionsOf(s).includes("ssm:GetParameters"));
    expect(secrets).toHaveLength(1);
    expect(JSON.stringify(resourcesOf(secrets[0] ?? { Effect: "Allow", Action: [] }))).toContain("/Secret/SLACK_BOT_TOKEN/value");
  });

  it("lets the engine send deferred re-checks to its own queue, and only there", () => {
    const engine = home.template("Engine");
    const { fn, roleId } = functionByHandler(engine, HANDLERS.engine);
    const statements = roleStatements(engine, roleId);
    const deferAccess = statements.find((s) => s.Sid === "DeferToEngineQueue");
    const queueAccess = statements.find((s) => s.Sid === "ConsumeEngineFunctionQueue");
    expect(deferAccess && actionsOf(deferAccess)).toEqual(["sqs:SendMessage"]);
    expect(JSON.stringify(deferAccess && resourcesOf(deferAccess))).toBe(JSON.stringify(queueAccess && resourcesOf(queueAccess)));
    expect(Object.keys(fn.Environment?.Variables ?? {})).toContain("DEFERRAL_QUEUE_URL");
  });

  it("lets the Slack endpoint only log, read its Slack secrets and proposals, and queue approvals", () => {
    const approvals = home.template("Approvals");
    const { fn, roleId } = functionByHandler(approvals, HANDLERS.interactivity);
    const statements = roleStatements(approvals, roleId);
    const actions = [...allowedActions(statements)].sort();
    expect(actions).toEqual(
      [
        "dynamodb:batchgetitem",
        "dynamodb:getitem",
        "dynamodb:putitem",
        "dynamodb:query",
        "logs:createlogstream",
        "logs:putlogevents",
        "sqs:sendmessage",
        "ssm:getparameters",
      ]
        .concat(["xray:puttelemetryrecords", "xray:puttracesegments"])
        .sort(),
    );
    const secrets = statements.filter((s) => actionsOf(s).includes("ssm:GetParameters"));
    // The bot token opens the exemption form inside Slack's three-second window.
    expect([...new Set(JSON.stringify(secrets).match(/\/Secret\/[A-Z_]+\//g))].sort()).toEqual([
      "/Secret/SLACK_BOT_TOKEN/",
      "/Secret/SLACK_SIGNING_SECRET/",
    ]);
    expect(Object.keys(fn.Environment?.Variables ?? {})).toContain("PROPOSALS_TABLE");
  });

  it("lets the Slack endpoint GetItem the proposals table and nothing else on it", () => {
    const approvals = home.template("Approvals");
    const onProposals = (handler: string) =>
      roleStatements(approvals, functionByHandler(approvals, handler).roleId).filter((s) => refersToTable(s, "State", "Proposals"));
    // The worker decides proposals through the same table reference, so the match below is not vacuous.
    expect(onProposals(HANDLERS.worker).flatMap(actionsOf)).toContain("dynamodb:UpdateItem");
    const statements = onProposals(HANDLERS.interactivity);
    expect(statements.map((s) => ({ effect: s.Effect, actions: actionsOf(s), resources: resourcesOf(s).length }))).toEqual([
      { effect: "Allow", actions: ["dynamodb:GetItem"], resources: 1 },
    ]);
  });

  it("serves Slack interactivity on POST /slack/interactivity", () => {
    const approvals = home.template("Approvals");
    approvals.hasResourceProperties("AWS::ApiGatewayV2::Route", { RouteKey: "POST /slack/interactivity" });
    approvals.hasResourceProperties("AWS::ApiGatewayV2::Integration", {
      IntegrationUri: { "Fn::GetAtt": [functionByHandler(approvals, HANDLERS.interactivity).id, "Arn"] },
      PayloadFormatVersion: "2.0",
    });
    approvals.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      DefaultRouteSettings: Match.objectLike({ ThrottlingBurstLimit: 50, ThrottlingRateLimit: 20 }),
    });
    expect(
      resources(approvals, "AWS::ApiGatewayV2::Api").map(([, api]) => props<{ CorsConfiguration?: unknown }>(api).CorsConfiguration),
    ).toEqual([undefined]);
    expect(Object.keys(approvals.findOutputs("SlackInteractivityUrl"))).toHaveLength(1);
  });

  it("gives the Slack endpoint the approvers and control names in a generated file, not the policy and registry", () => {
    const { fn } = functionByHandler(home.template("Approvals"), HANDLERS.interactivity);
    const variables = fn.Environment?.Variables ?? {};
    expect(variables).not.toHaveProperty("POLICY_FILE");
    expect(variables.SLACK_CONTEXT_FILE).toBe("/var/task/slack-context.json");
    const generated = join(useProject().paths.root, ".build", "generated", "infra-use1", "slack-context.json");
    const context = parseSlackContext(readFileSync(generated, "utf8"), generated);
    expect(context.approvers).toEqual({ users: [APPROVER_ID], userGroups: [] });
    expect(context.controls.map((control) => control.id)).toEqual(controls.map((control) => control.id));
    expect(context.controls[0]).toEqual({ id: controls[0]?.id, title: controls[0]?.title, hipaa: controls[0]?.hipaa });
  });

  it("keeps the audit log with PITR, deletion protection and the log store's key schema", () => {
    home.template("AuditLog").hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [
        { AttributeName: LOG_TABLE_KEYS.partitionKey.name, KeyType: "HASH" },
        { AttributeName: LOG_TABLE_KEYS.sortKey.name, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: LOG_BY_EVENT_INDEX.indexName,
          KeySchema: [
            { AttributeName: LOG_BY_EVENT_INDEX.partitionKey.name, KeyType: "HASH" },
            { AttributeName: LOG_BY_EVENT_INDEX.sortKey.name, KeyType: "RANGE" },
          ],
        }),
      ],
    });
    home.template("AuditLog").hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Retain" });
  });

  it("turns on point-in-time recovery for every table", () => {
    const tables = everyTemplate(home).flatMap(([, template]) => resources(template, "AWS::DynamoDB::Table"));
    expect(tables).toHaveLength(5);
    for (const [, table] of tables) {
      expect(props<{ PointInTimeRecoverySpecification: unknown }>(table).PointInTimeRecoverySpecification).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
    }
  });

  it("expires and reminds pending proposals on a schedule, with no more than it needs on the proposals table", () => {
    const approvals = home.template("Approvals");
    const housekeeping = functionByHandler(approvals, HANDLERS.housekeeping);
    expect(rules(approvals).map((rule) => rule.ScheduleExpression)).toEqual(["rate(10 minutes)"]);
    const onProposals = roleStatements(approvals, housekeeping.roleId).filter((s) => refersToTable(s, "State", "Proposals"));
    expect(onProposals.flatMap(actionsOf).sort()).toEqual(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"]);
    const all = roleStatements(approvals, housekeeping.roleId).flatMap(actionsOf);
    // Tables, its own logs, its Slack secret, X-Ray (SST traces every function) and its failed-runs queue: no
    // control's actions.
    const services = new Set(all.map((action) => action.split(":")[0]));
    expect([...services].sort()).toEqual(["dynamodb", "logs", "sqs", "ssm", "xray"]);
  });

  it("sweeps on the default schedule", () => {
    expect(sweepSchedules(home)).toEqual(["rate(1 day)"]);
  });

  it("hands the engine its tables, its own role ARN, the policy file and the Slack channel", () => {
    const engine = home.template("Engine");
    const { fn, roleId } = functionByHandler(engine, HANDLERS.engine);
    const variables = fn.Environment?.Variables ?? {};
    expect(Object.keys(variables)).toEqual(
      expect.arrayContaining([
        "POLICY_FILE",
        "LOG_TABLE",
        "PROPOSALS_TABLE",
        "EXEMPTIONS_TABLE",
        "IDEMPOTENCY_TABLE",
        "RATE_LIMIT_TABLE",
        "ENGINE_ROLE_ARN",
        "ENGINE_PRINCIPAL_ARNS",
      ]),
    );
    expect(variables.POLICY_FILE).toBe("/var/task/policy.yaml");
    expect(variables.SLACK_CHANNEL).toBe(SLACK_CHANNEL);
    const roleName = props<{ RoleName: string }>(
      resources(engine, "AWS::IAM::Role").find(([id]) => id === roleId)?.[1] ?? { Type: "" },
    ).RoleName;
    expect(roleName).toBe("infra-use1-hipaa-remediate-engine");
    expect(JSON.stringify(variables.ENGINE_ROLE_ARN)).toContain(`:role/${roleName}`);
    for (const purpose of ["engine", "sweep", "approval-worker"]) {
      expect(JSON.stringify(variables.ENGINE_PRINCIPAL_ARNS)).toContain(`:role/infra-use1-hipaa-remediate-${purpose}`);
    }
  });

  it("bundles each handler at synth as minified ESM with the policy file beside it", () => {
    const fn = home.stack("Engine").node.findChild("EngineFunction");
    const artifact = join(useProject().paths.artifacts, fn.node.addr);
    const files = readdirSync(join(artifact, "packages", "functions", "src"));
    expect(files).toContain("engine.mjs");
    expect(files.some((file) => file.endsWith(".map"))).toBe(false);
    const bundle = readFileSync(join(artifact, "packages", "functions", "src", "engine.mjs"), "utf8");
    expect(bundle).toContain("topLevelCreateRequire");
    expect(existsSync(join(artifact, "policy.yaml"))).toBe(true);
    expect(readFileSync(join(artifact, "policy.yaml"), "utf8")).toContain(SLACK_CHANNEL);
  });

  it("exports the interactivity URL, table names and queue URLs", () => {
    const outputs = (stackId: string) => Object.keys(home.template(stackId).findOutputs("*"));
    expect(outputs("AuditLog")).toContain("LogTableName");
    expect(outputs("State")).toEqual(
      expect.arrayContaining(["ProposalsTableName", "ExemptionsTableName", "IdempotencyTableName", "RateLimitTableName"]),
    );
    expect(outputs("Ingestion")).toEqual(expect.arrayContaining(["EngineQueueUrl", "EngineDeadLetterQueueUrl"]));
    expect(outputs("Approvals")).toEqual(expect.arrayContaining(["SlackInteractivityUrl", "ApprovalsQueueUrl"]));
  });
});

describe("home region eu-west-1", () => {
  let homeEu: Synthesised;
  let forwarder: Synthesised;

  beforeAll(async () => {
    homeEu = await synthesise({ stage: "infra-euw1", region: "eu-west-1", settings: { sweepSchedule: "cron(0 3 * * ? *)" } });
    forwarder = await synthesise({ stage: "infra-euw1", region: "us-east-1", settings: { homeRegion: "eu-west-1" } });
  });

  it("locks the audit archive for the six-year default when no policy file sets audit.retentionDays", () => {
    homeEu.template("AuditLog").hasResourceProperties("AWS::S3::Bucket", {
      ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 2190 } } },
    });
  });

  it("deploys the engine at home and only the forwarder in us-east-1", () => {
    expect(homeEu.stackIds.sort()).toEqual([...HOME_STACKS].sort());
    expect(forwarder.stackIds).toEqual(["GlobalEvents"]);
    expect(forwarder.stack("GlobalEvents").region).toBe("us-east-1");
  });

  it("still matches global services' triggers at home, where forwarded events arrive", () => {
    const patterns = rules(homeEu.template("Ingestion")).flatMap((rule) => (rule.EventPattern ? [rule.EventPattern] : []));
    expect(triggerPairs(patterns).sort()).toEqual([...expectedTriggers].sort());
    expect(identityPatterns(patterns)).toEqual([ROOT_PATTERN]);
  });

  it("forwards the global services' triggers, and us-east-1's own (the default scope lists it), to the home region's default bus", () => {
    const template = forwarder.template("GlobalEvents");
    const found = rules(template);
    const patterns = found.flatMap((rule) => (rule.EventPattern ? [rule.EventPattern] : []));
    // organization.test.ts checks a scope without us-east-1, where only the global services' triggers are forwarded.
    expect(triggerPairs(patterns).sort()).toEqual([...expectedTriggers].sort());
    // Root console sign-ins (and root calls to global services) are delivered in us-east-1 only.
    expect(identityPatterns(patterns)).toEqual([ROOT_PATTERN]);
    const homeBus = { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:events:eu-west-1:${TEST_ACCOUNT}:event-bus/default`]] };
    for (const rule of found) {
      expect(rule.Targets).toHaveLength(1);
      expect(rule.Targets[0]?.Arn).toEqual(homeBus);
      expect(rule.Targets[0]?.RoleArn).toBeDefined();
      expect(rule.Targets[0]?.DeadLetterConfig).toBeDefined();
    }
    const [roleId = ""] =
      resources(template, "AWS::IAM::Role").find(([, role]) => JSON.stringify(role).includes("events.amazonaws.com")) ?? [];
    expect(new Set(found.map((rule) => JSON.stringify(rule.Targets[0]?.RoleArn)))).toEqual(
      new Set([JSON.stringify({ "Fn::GetAtt": [roleId, "Arn"] })]),
    );
    template.hasResourceProperties("AWS::IAM::Role", {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: "events.amazonaws.com" } })] },
    });
    const statements = roleStatements(template, roleId);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement).toMatchObject({ Effect: "Allow", Action: "events:PutEvents", Resource: homeBus });
    }
  });

  it("has a forwarder with no wildcard actions and a TLS-only, encrypted dead-letter queue", () => {
    const template = forwarder.template("GlobalEvents");
    for (const { statement } of identityStatements(template)) for (const action of actionsOf(statement)) expect(action).not.toContain("*");
    const [[queueId, queue] = ["", { Type: "" }]] = resources(template, "AWS::SQS::Queue");
    expect(props<{ SqsManagedSseEnabled?: boolean }>(queue).SqsManagedSseEnabled).toBe(true);
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]),
      },
    });
  });

  it("sweeps on the configured schedule", () => {
    expect(sweepSchedules(homeEu)).toEqual(["cron(0 3 * * ? *)"]);
  });

  it("uses the built-in default policy when no policy file is given", () => {
    const { fn } = functionByHandler(homeEu.template("Engine"), HANDLERS.engine);
    expect(fn.Environment?.Variables).not.toHaveProperty("POLICY_FILE");
    expect(fn.Environment?.Variables).toHaveProperty("HOME_REGION", "eu-west-1");
  });
});

/** These fail in registerStacks, before any stack or bundle exists, so they need no full synth. */
describe("synth refuses", () => {
  it("an invalid policy, with the policy parser's own message naming each field", async () => {
    const policyFile = join(policyDir, "invalid-policy.yaml");
    writeFileSync(policyFile, INVALID_POLICY);

    const failure = buildApp({ stage: "infra-badpolicy", region: "us-east-1", settings: { policyFile } });

    await expect(failure).rejects.toBeInstanceOf(PolicyError);
    const error = await failure.catch((caught: unknown) => caught);
    const expected = thrown(() => parsePolicy(INVALID_POLICY, relative(useProject().paths.root, policyFile), controls));
    expect(expected).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).message).toBe((expected as PolicyError).message);
    expect((error as PolicyError).message).toContain("defaultMode");
    expect((error as PolicyError).message).toContain("rateLimit.maxAutoFixes");
  });

  it("an app region that is neither home nor in the scope (opt-in regions are not in the default all-enabled)", async () => {
    await expect(buildApp({ stage: "infra-wrongregion", region: "af-south-1", settings: { homeRegion: "eu-west-1" } })).rejects.toThrow(
      /^The app region af-south-1 is neither the home region \(eu-west-1\) nor a region the policy's scope\.regions lists .* Deploy with one of --region eu-west-1, us-east-1, us-east-2, .*, or add af-south-1 to scope\.regions$/,
    );
    await expect(
      buildApp({ stage: "infra-wrongregion", region: "af-south-1", settings: { homeRegion: "eu-west-1" } }),
    ).rejects.toBeInstanceOf(SettingsError);
  });
});

/** sst.config.ts itself, bundled and evaluated the way `sst build` does (SST's own loader), minus the AWS calls. */
describe("sst.config.ts", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  async function stackIdsFromConfig(stage: string, region: string): Promise<string[]> {
    await initProject({ stage, region });
    const [, config]: readonly [unknown, SSTConfig] = await load(useProject().paths.config, false);
    const app = new App({ mode: "deploy", stage, name: (await config.config({})).name, region, account: TEST_ACCOUNT });
    await config.stacks(app);
    return app.node.children.map((child) => child.node.id.replace(`${stage}-${APP_NAME}-`, ""));
  }

  it("builds the home stacks in the app region by default", async () => {
    vi.stubEnv("HIPAA_HOME_REGION", "");
    vi.stubEnv("HIPAA_POLICY_FILE", "");
    expect(await stackIdsFromConfig("infra-config-home", "eu-west-1")).toEqual(HOME_STACKS);
  });

  it("builds only the forwarder in us-east-1 when HIPAA_HOME_REGION is elsewhere", async () => {
    vi.stubEnv("HIPAA_HOME_REGION", "eu-west-1");
    expect(await stackIdsFromConfig("infra-config-fwd", "us-east-1")).toEqual(["GlobalEvents"]);
  });
});

describe("the audit archive (home region us-east-1)", () => {
  interface BucketProps {
    ObjectLockEnabled?: boolean;
    ObjectLockConfiguration?: unknown;
    VersioningConfiguration?: unknown;
    PublicAccessBlockConfiguration?: unknown;
  }

  it("keeps anchors and exports in an Object Lock bucket, compliance mode, for the policy's retention", () => {
    const auditLog = home.template("AuditLog");
    const buckets = resources(auditLog, "AWS::S3::Bucket");
    expect(buckets).toHaveLength(1);
    const [[bucketId, bucket]] = buckets as [[string, CfnResource]];
    expect(props<BucketProps>(bucket)).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: "Enabled",
        Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: AUDIT_RETENTION_DAYS } },
      },
      VersioningConfiguration: { Status: "Enabled" },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    auditLog.hasResource("AWS::S3::Bucket", { DeletionPolicy: "Retain" });
    expect(Object.keys(auditLog.findOutputs("AuditBucketName"))).toHaveLength(1);
    // TLS only.
    const bucketPolicy = resources(auditLog, "AWS::S3::BucketPolicy").map(([, policy]) =>
      props<{ Bucket: unknown; PolicyDocument: { Statement: Statement[] } }>(policy),
    );
    expect(bucketPolicy.map((policy) => policy.Bucket)).toEqual([{ Ref: bucketId }]);
    expect(bucketPolicy[0]?.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    );
  });

  it("denies updating or deleting log entries to every principal, in the table's own resource policy", () => {
    const [[, table]] = resources(home.template("AuditLog"), "AWS::DynamoDB::Table") as [[string, CfnResource]];
    const policy = props<{ ResourcePolicy?: { PolicyDocument: { Statement: Statement[] } } }>(table).ResourcePolicy;
    expect(policy?.PolicyDocument.Statement).toEqual([
      {
        Sid: "LogEntriesAreNeverChangedOrDeleted",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: [
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:BatchWriteItem",
          "dynamodb:PartiQLUpdate",
          "dynamodb:PartiQLDelete",
        ],
        Resource: "*",
      },
    ]);
  });

  it("anchors the log's head every hour and exports new entries every day", () => {
    const auditLog = home.template("AuditLog");
    const scheduled = rules(auditLog).map((rule) => [rule.ScheduleExpression, rule.Targets.map((target) => JSON.stringify(target.Arn))]);
    const anchor = functionByHandler(auditLog, HANDLERS.logAnchor);
    const exporter = functionByHandler(auditLog, HANDLERS.logExport);
    expect(scheduled).toEqual(
      expect.arrayContaining([
        ["rate(1 hour)", [expect.stringContaining(anchor.id)]],
        ["rate(1 day)", [expect.stringContaining(exporter.id)]],
      ]),
    );
    expect(scheduled).toHaveLength(2);
    for (const fn of [anchor.fn, exporter.fn]) {
      expect(Object.keys(fn.Environment?.Variables ?? {})).toEqual(expect.arrayContaining(["LOG_TABLE", "AUDIT_BUCKET"]));
    }
  });

  /** A role's statements other than its own log group, SST's X-Ray tracing and its failed-runs queue. */
  function dataStatements(handler: string): Statement[] {
    const auditLog = home.template("AuditLog");
    return roleStatements(auditLog, functionByHandler(auditLog, handler).roleId).filter(
      (s) => !actionsOf(s).some((action) => action.startsWith("logs:") || action.startsWith("xray:") || action.startsWith("sqs:")),
    );
  }

  it("lets the anchor function query the log table and put objects under anchors/, nothing else", () => {
    const statements = dataStatements(HANDLERS.logAnchor);
    expect(statements.map((s) => [s.Effect, actionsOf(s)])).toEqual([
      ["Allow", ["dynamodb:Query"]],
      ["Allow", ["s3:PutObject"]],
    ]);
    expect(JSON.stringify(resourcesOf(statements[0] as Statement))).not.toContain("/index/");
    expect(JSON.stringify(statements[1]?.Resource)).toContain("/anchors/*");
  });

  it("lets the export function query the log table, list exports/ and put objects under exports/, nothing else", () => {
    const statements = dataStatements(HANDLERS.logExport);
    expect(statements.map((s) => [s.Effect, actionsOf(s)])).toEqual([
      ["Allow", ["dynamodb:Query"]],
      ["Allow", ["s3:PutObject"]],
      ["Allow", ["s3:ListBucket"]],
    ]);
    expect(JSON.stringify(statements[1]?.Resource)).toContain("/exports/*");
    expect(statements[2]?.Condition).toEqual({ StringLike: { "s3:prefix": ["exports/*"] } });
  });

  it("grants no function an item update or delete on the log table", () => {
    for (const [stackId, template] of everyTemplate(home)) {
      for (const { where, statement } of identityStatements(template)) {
        if (
          !refersToTable(statement, "AuditLog", "RemediationLog") &&
          !JSON.stringify(statement.Resource ?? null).includes("RemediationLog")
        )
          continue;
        expect(actionsOf(statement), `${stackId}/${where}`).not.toContain("dynamodb:UpdateItem");
        expect(actionsOf(statement), `${stackId}/${where}`).not.toContain("dynamodb:DeleteItem");
      }
    }
  });
});
