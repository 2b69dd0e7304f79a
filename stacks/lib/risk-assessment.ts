import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { RISK_ASSESSMENT_PREFIX, type AnyControl } from "@hipaa-remediate/core";
import { Cron } from "sst/constructs";
import { useProject } from "sst/project.js";
import type { Construct } from "constructs";
import { serviceFunction } from "./functions";
import { bucketEncryptionFor, functionAlarms } from "./operations";
import type { DeployedPolicy } from "./policy";
import { controlStatements, ENV, logAppendAccess } from "./remediator";
import type { ScheduleExpression } from "./settings";
import { tableAccess, type EngineTable } from "./tables";
import { SWEEP_TIMEOUT } from "./timeouts";

/** Environment names the risk assessment handler reads (packages/functions/src/risk-assessment.ts). */
export const RISK_ASSESSMENT_ENV = {
  reportsBucket: "REPORTS_BUCKET",
  forceDryRun: "FORCE_DRY_RUN",
  toolVersion: "TOOL_VERSION",
} as const;

/** Superseded versions of a report (the same key written twice) are kept this long, then removed. */
const NONCURRENT_REPORT_DAYS = 90;

export interface RiskAssessmentProps {
  schedule: ScheduleExpression;
  sweepRegions: readonly string[];
  policy: DeployedPolicy;
  controls: readonly AnyControl[];
  tables: { log: EngineTable; proposals: EngineTable; exemptions: EngineTable };
}

/**
 * The scheduled risk analysis of 164.308(a)(1)(ii)(A): a function that sweeps the whole account in dry-run and
 * stores the HIPAA report in a bucket of its own. Its role can read what the controls detect with, append to the
 * log (the assessment's own entries, never an update or delete), read proposals and exemptions, and put report
 * objects: it has no permission that changes a resource, so dry-run holds even against a wrong policy.
 */
export function riskAssessment(scope: Construct, props: RiskAssessmentProps) {
  const bucket = new s3.Bucket(scope, "RiskAssessmentReports", {
    versioned: true,
    ...bucketEncryptionFor(scope),
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    // Reports are HIPAA documentation (164.316(b)(2)(i)): current versions are kept; only superseded ones expire.
    lifecycleRules: [
      { noncurrentVersionExpiration: Duration.days(NONCURRENT_REPORT_DAYS), abortIncompleteMultipartUploadAfter: Duration.days(7) },
    ],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const { log, proposals, exemptions } = props.tables;
  const assessment = serviceFunction(scope, "RiskAssessment", {
    handler: "packages/functions/src/risk-assessment.handler",
    description: "hipaa-remediate risk assessment: dry-run full-account sweep and the HIPAA report, stored in S3",
    timeout: SWEEP_TIMEOUT,
    memorySize: 1024,
    environment: {
      ...props.policy.environment,
      [ENV.logTable]: log.table.tableName,
      [ENV.proposalsTable]: proposals.table.tableName,
      [ENV.exemptionsTable]: exemptions.table.tableName,
      [ENV.sweepRegions]: props.sweepRegions.join(","),
      [ENV.serviceName]: "hipaa-remediate-risk-assessment",
      [RISK_ASSESSMENT_ENV.reportsBucket]: bucket.bucketName,
      [RISK_ASSESSMENT_ENV.forceDryRun]: "true",
      [RISK_ASSESSMENT_ENV.toolVersion]: toolVersion(),
    },
    statements: [
      ...controlStatements(props.controls, ["detect"]),
      logAppendAccess(log),
      tableAccess("ReadPendingProposals", proposals, ["dynamodb:Query"]),
      tableAccess("ReadExemptions", exemptions, ["dynamodb:Scan"]),
      new iam.PolicyStatement({
        sid: "StoreReports",
        effect: iam.Effect.ALLOW,
        actions: ["s3:PutObject"],
        resources: [bucket.arnForObjects(`${RISK_ASSESSMENT_PREFIX}*`)],
      }),
    ],
    copyFiles: props.policy.copyFiles,
  });
  const schedule = new Cron(scope, "RiskAssessmentSchedule", {
    schedule: props.schedule,
    // A failed assessment alarms and runs again at the next schedule; an immediate 15-minute retry is not worth it.
    job: { function: assessment.fn, cdk: { target: { retryAttempts: 0 } } },
  });
  // Nor does Lambda retry it: a second run would only log the same findings again.
  assessment.fn.configureAsyncInvoke({ retryAttempts: 0 });
  const alarms = functionAlarms(scope, "RiskAssessment", assessment.fn, "the scheduled risk assessment");
  return { bucket, assessment, schedule, alarms };
}

/** The version reports record as the tool's: the workspace's, read at synth (the handler bundle carries no package.json). */
function toolVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(join(useProject().paths.root, "package.json"), "utf8"));
  const version: unknown = typeof manifest === "object" && manifest !== null ? Reflect.get(manifest, "version") : undefined;
  return typeof version === "string" ? version : "unknown";
}
