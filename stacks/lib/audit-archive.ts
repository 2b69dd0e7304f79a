import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { ANCHOR_PREFIX, EXPORT_PREFIX } from "@hipaa-remediate/core";
import { Cron } from "sst/constructs";
import type { Construct } from "constructs";
import type { DeployedPolicy } from "./policy";
import { serviceFunction } from "./functions";
import { bucketEncryptionFor } from "./operations";
import { failedRunsQueue } from "./queues";
import { ENV } from "./remediator";
import type { EngineTable } from "./tables";
import { LOG_ANCHOR_TIMEOUT, LOG_EXPORT_TIMEOUT } from "./timeouts";

/** Anchors bound how far back a deleted tail or a rewrite can hide: at most this long. */
export const LOG_ANCHOR_SCHEDULE = "rate(1 hour)";
/** The export is incremental, so a daily run writes one small object. */
export const LOG_EXPORT_SCHEDULE = "rate(1 day)";
export const AUDIT_BUCKET_ENV = "AUDIT_BUCKET";

/**
 * Item-level writes nobody may make to the log, whatever their IAM allows: changing or deleting an entry in place
 * (directly, in a batch or through PartiQL). Appends are conditional PutItems; a PutItem that overwrites is still
 * possible for a principal granted PutItem, and `verify` catches it against the anchors.
 */
export const LOG_TABLE_DENIED_ACTIONS = [
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:PartiQLUpdate",
  "dynamodb:PartiQLDelete",
] as const;

/** The log table's resource policy: no principal may update or delete an entry. */
export function appendOnlyLogPolicy(): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: "LogEntriesAreNeverChangedOrDeleted",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [...LOG_TABLE_DENIED_ACTIONS],
        // A table's own resource policy names it with "*": its ARN would be a circular reference.
        resources: ["*"],
      }),
    ],
  });
}

/**
 * The audit bucket (S3 Object Lock, compliance mode, default retention from the policy's audit.retentionDays) and
 * the two scheduled functions that fill it: anchors of the log's head every hour, and an incremental JSON lines
 * export of the log every day. In compliance mode nobody, the root user included, can delete an object version or
 * shorten its retention before it ends.
 */
export function auditArchive(scope: Construct, log: EngineTable, policy: DeployedPolicy) {
  const bucket = new s3.Bucket(scope, "AuditArchive", {
    objectLockEnabled: true,
    objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(policy.policy.audit.retentionDays)),
    versioned: true,
    ...bucketEncryptionFor(scope),
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // Read access to the log table: the newest item (anchor) or the items after the last export. No index.
  const readLog = (sid: string) =>
    new iam.PolicyStatement({ sid, effect: iam.Effect.ALLOW, actions: ["dynamodb:Query"], resources: [log.table.tableArn] });
  const environment = { [ENV.logTable]: log.table.tableName, [AUDIT_BUCKET_ENV]: bucket.bucketName };
  // A failed anchor or export leaves a gap in the evidence until the next run fills it: someone should know.
  const failedRuns = failedRunsQueue(scope, "AuditArchiveFailedRuns", "Audit log anchor or export");

  const anchor = serviceFunction(scope, "LogAnchor", {
    handler: "packages/functions/src/log-anchor.handler",
    description: "hipaa-remediate log anchor: publishes the log's head to the Object Lock audit bucket",
    timeout: LOG_ANCHOR_TIMEOUT,
    environment: { ...environment, [ENV.serviceName]: "hipaa-remediate-log-anchor" },
    statements: [
      readLog("ReadLogHead"),
      // PutObject only: retention comes from the bucket default, so no s3:PutObjectRetention, and no read or delete.
      new iam.PolicyStatement({
        sid: "PublishAnchors",
        effect: iam.Effect.ALLOW,
        actions: ["s3:PutObject"],
        resources: [bucket.arnForObjects(`${ANCHOR_PREFIX}*`)],
      }),
    ],
    onFailure: { queue: failedRuns, retryAttempts: 2 },
  });
  const anchorSchedule = new Cron(scope, "LogAnchorSchedule", {
    schedule: LOG_ANCHOR_SCHEDULE,
    job: { function: anchor.fn, cdk: { target: { retryAttempts: 2 } } },
  });

  const exporter = serviceFunction(scope, "LogExport", {
    handler: "packages/functions/src/log-export.handler",
    description: "hipaa-remediate log export: new log entries as JSON lines to the Object Lock audit bucket",
    timeout: LOG_EXPORT_TIMEOUT,
    memorySize: 1024,
    environment: { ...environment, [ENV.serviceName]: "hipaa-remediate-log-export" },
    statements: [
      readLog("ReadLogEntries"),
      new iam.PolicyStatement({
        sid: "WriteExports",
        effect: iam.Effect.ALLOW,
        actions: ["s3:PutObject"],
        resources: [bucket.arnForObjects(`${EXPORT_PREFIX}*`)],
      }),
      // Where the last export ended is in the object keys; listing is limited to the exports prefix.
      new iam.PolicyStatement({
        sid: "FindLastExport",
        effect: iam.Effect.ALLOW,
        actions: ["s3:ListBucket"],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { "s3:prefix": [`${EXPORT_PREFIX}*`] } },
      }),
    ],
    onFailure: { queue: failedRuns, retryAttempts: 2 },
  });
  const exportSchedule = new Cron(scope, "LogExportSchedule", {
    schedule: LOG_EXPORT_SCHEDULE,
    job: { function: exporter.fn, cdk: { target: { retryAttempts: 2 } } },
  });
  return { bucket, anchor, anchorSchedule, exporter, exportSchedule };
}
