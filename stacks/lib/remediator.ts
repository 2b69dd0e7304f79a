import * as iam from "aws-cdk-lib/aws-iam";
import { controlActions, controlPolicyStatements, LOG_APPEND_ACTIONS, type AnyControl, type PermissionPhase } from "@hipaa-remediate/core";
import type { App } from "sst/constructs";
import type { Construct } from "constructs";
import { fixedRoleName, roleArnFor } from "./functions";
import { tableAccess, type EngineTable } from "./tables";

/** The tables every function that detects and fixes (engine, sweep, approval worker) works with. */
export interface EngineTables {
  log: EngineTable;
  proposals: EngineTable;
  exemptions: EngineTable;
  idempotency: EngineTable;
  rateLimit: EngineTable;
}

/**
 * The functions that change resources. Their roles get fixed names so that every one of them can list all of them
 * in ENGINE_PRINCIPAL_ARNS without a reference cycle: the loop guard must skip changes made by any of them.
 */
export const REMEDIATOR_PURPOSES = ["engine", "sweep", "approval-worker"] as const;
export type RemediatorPurpose = (typeof REMEDIATOR_PURPOSES)[number];

export function remediatorRoleName(app: App, purpose: RemediatorPurpose): string {
  return fixedRoleName(app, purpose);
}

export function remediatorRoleArns(scope: Construct, app: App): string[] {
  return REMEDIATOR_PURPOSES.map((purpose) => roleArnFor(scope, remediatorRoleName(app, purpose)));
}

/** The controls' declared permissions (by default detect, apply and rollback) as CDK statements. */
export function controlStatements(controls: readonly AnyControl[], phases?: readonly PermissionPhase[]): iam.PolicyStatement[] {
  return controlPolicyStatements(controls, phases).map(
    (statement) =>
      new iam.PolicyStatement({
        sid: statement.sid,
        effect: iam.Effect.ALLOW,
        actions: statement.actions,
        resources: statement.resources,
      }),
  );
}

/**
 * Appending to and reading the remediation log: what the log store uses (conditional PutItem to append, Query and
 * a BatchGetItem probe to find the head). No UpdateItem or DeleteItem: entries are never changed, and IAM keeps it
 * that way.
 */
export function logAppendAccess(log: EngineTable): iam.PolicyStatement {
  return tableAccess("AppendToLog", log, LOG_APPEND_ACTIONS);
}

/**
 * Controls change DynamoDB tables the engine discovers at run time (point-in-time recovery, tags), so their actions
 * are granted on every table; this denies each of those changes on the engine's own tables, which an explicit Deny
 * does whatever else the role is allowed.
 */
export function engineTablesGuard(tables: EngineTables, controls: readonly AnyControl[]): iam.PolicyStatement[] {
  const changes = controlActions(controls, ["apply", "rollback"]).filter((action) => action.startsWith("dynamodb:"));
  if (changes.length === 0) return [];
  return [
    new iam.PolicyStatement({
      sid: "ControlsNeverChangeEngineTables",
      effect: iam.Effect.DENY,
      actions: changes,
      resources: (Object.values(tables) as EngineTable[]).map(({ table }) => table.tableArn),
    }),
  ];
}

/**
 * What a remediating function may do: the controls' grants under the deployed policy (control-grants.ts), plus
 * exactly the table operations the stores use.
 */
export function remediatorStatements(
  tables: EngineTables,
  controls: readonly AnyControl[],
  controlGrants: readonly iam.PolicyStatement[],
): iam.PolicyStatement[] {
  return [
    ...controlGrants,
    ...engineTablesGuard(tables, controls),
    logAppendAccess(tables.log),
    tableAccess("Proposals", tables.proposals, ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"]),
    // Exemptions are few and listed whole; an exemption is written once and never changed.
    tableAccess("Exemptions", tables.exemptions, ["dynamodb:PutItem", "dynamodb:Scan"]),
    // Powertools idempotency: conditional put, read, status update, and delete of a failed attempt's record.
    tableAccess("Idempotency", tables.idempotency, ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
    tableAccess("RateLimit", tables.rateLimit, ["dynamodb:GetItem", "dynamodb:UpdateItem"]),
  ];
}

/** Environment names the handlers read. */
export const ENV = {
  policyFile: "POLICY_FILE",
  logTable: "LOG_TABLE",
  proposalsTable: "PROPOSALS_TABLE",
  exemptionsTable: "EXEMPTIONS_TABLE",
  idempotencyTable: "IDEMPOTENCY_TABLE",
  rateLimitTable: "RATE_LIMIT_TABLE",
  engineRoleArn: "ENGINE_ROLE_ARN",
  enginePrincipalArns: "ENGINE_PRINCIPAL_ARNS",
  slackChannel: "SLACK_CHANNEL",
  homeRegion: "HOME_REGION",
  sweepRegions: "SWEEP_REGIONS",
  approvalsQueueUrl: "APPROVALS_QUEUE_URL",
  deferralQueueUrl: "DEFERRAL_QUEUE_URL",
  serviceName: "POWERTOOLS_SERVICE_NAME",
} as const;

export interface RemediatorEnvironmentInput {
  scope: Construct;
  app: App;
  purpose: RemediatorPurpose;
  tables: EngineTables;
  homeRegion: string;
  slackChannel: string | undefined;
  policyEnvironment: Record<string, string>;
}

export function remediatorEnvironment(input: RemediatorEnvironmentInput): Record<string, string> {
  const { scope, app, purpose, tables } = input;
  return {
    ...input.policyEnvironment,
    [ENV.logTable]: tables.log.table.tableName,
    [ENV.proposalsTable]: tables.proposals.table.tableName,
    [ENV.exemptionsTable]: tables.exemptions.table.tableName,
    [ENV.idempotencyTable]: tables.idempotency.table.tableName,
    [ENV.rateLimitTable]: tables.rateLimit.table.tableName,
    [ENV.engineRoleArn]: roleArnFor(scope, remediatorRoleName(app, purpose)),
    [ENV.enginePrincipalArns]: remediatorRoleArns(scope, app).join(","),
    [ENV.homeRegion]: input.homeRegion,
    [ENV.serviceName]: `hipaa-remediate-${purpose}`,
    ...(input.slackChannel ? { [ENV.slackChannel]: input.slackChannel } : {}),
  };
}
