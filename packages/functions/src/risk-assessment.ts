import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  ControlIndex,
  createAwsClients,
  DynamoDbExemptionStore,
  DynamoDbLogStore,
  DynamoDbProposalStore,
  engineIdentity,
  inMemoryGuard,
  loadPolicy,
  NO_AUTOMATIC_FIXES,
  runRiskAssessment,
  S3ReportObjectStore,
  type RiskAssessmentDeps,
  type RiskAssessmentResult,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { Context, ScheduledEvent } from "aws-lambda";
import { MissingConfigurationError, once, powertoolsLogger, requiredEnv } from "./wiring/runtime";

/** Set by the stack; the handler refuses to run without it, so no configuration can turn the assessment into fixes. */
export const FORCE_DRY_RUN_ENV = "FORCE_DRY_RUN";
export const REPORTS_BUCKET_ENV = "REPORTS_BUCKET";
export const TOOL_VERSION_ENV = "TOOL_VERSION";

/**
 * The scheduled risk analysis (164.308(a)(1)(ii)(A)): a dry-run sweep of the whole account, then the HIPAA report
 * from the deployed tables, stored as HTML, JSON and CSV in the reports bucket. An error (a failed store, a log
 * that fails verification) is thrown, so it counts in the function's Errors metric.
 */
export function createRiskAssessmentHandler(getDeps: () => Promise<RiskAssessmentDeps>) {
  return async (event: Pick<ScheduledEvent, "id">, context?: Context): Promise<RiskAssessmentResult> => {
    const deps = await getDeps();
    if (context) deps.engine.guard.registerLambdaContext(context);
    const result = await runRiskAssessment(deps, { assessmentId: event.id });
    deps.engine.logger.info("risk assessment stored", { ...result });
    return result;
  };
}

async function deployedRiskAssessmentDeps(): Promise<RiskAssessmentDeps> {
  if (process.env[FORCE_DRY_RUN_ENV] !== "true") {
    throw new MissingConfigurationError(`${FORCE_DRY_RUN_ENV} must be "true": the risk assessment only ever runs in dry-run`);
  }
  const policy = await loadPolicy(process.env.POLICY_FILE, controls);
  const identity = engineIdentity(policy, []);
  const region = requiredEnv("AWS_REGION");
  const aws = createAwsClients({ userAgent: identity.userAgent });
  const dynamodb = new DynamoDBClient({});
  const logTable = requiredEnv("LOG_TABLE");
  return {
    engine: {
      index: new ControlIndex(controls),
      policy,
      log: new DynamoDbLogStore({ client: dynamodb, tableName: logTable }),
      // runRiskAssessment replaces both: an assessment keeps no idempotency records and takes no rate-limit tokens.
      guard: inMemoryGuard(),
      rateLimiter: NO_AUTOMATIC_FIXES,
      proposals: new DynamoDbProposalStore(dynamodb, requiredEnv("PROPOSALS_TABLE")),
      exemptions: new DynamoDbExemptionStore(dynamodb, requiredEnv("EXEMPTIONS_TABLE")),
      aws,
      now: () => new Date(),
      logger: powertoolsLogger(process.env.POWERTOOLS_SERVICE_NAME ?? "hipaa-remediate-risk-assessment"),
      identity,
      regions: (process.env.SWEEP_REGIONS ?? region).split(",").filter(Boolean),
    },
    reports: new S3ReportObjectStore({ client: await aws.s3(region), bucket: requiredEnv(REPORTS_BUCKET_ENV) }),
    toolVersion: process.env[TOOL_VERSION_ENV] ?? "unknown",
    store: `dynamodb:${region}/${logTable}`,
    policySource: process.env.POLICY_FILE ? "policy file deployed with the stack" : "built-in default policy (dry-run everywhere)",
  };
}

export const handler = createRiskAssessmentHandler(once(deployedRiskAssessmentDeps));
