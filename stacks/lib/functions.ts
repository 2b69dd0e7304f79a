import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Function, type Config, type FunctionCopyFilesProps } from "sst/constructs";
import type { Construct } from "constructs";
import { encryptionKeyFor, keyUseStatements } from "./operations";
import { sendAccess } from "./queues";

/**
 * How every handler is bundled (SST runs esbuild at synth time in deploy mode):
 * - ESM (SST's default for Node) with SST's createRequire banner, so CommonJS dependencies still load;
 * - everything bundled, the AWS SDK included: the Node.js runtime ships an SDK v3 whose version AWS moves on its
 *   own schedule, while the engine is tested against the pinned clients (S3's checksum defaults, for one, changed
 *   within v3). Tree-shaking keeps only the clients a handler imports;
 * - minified, names kept (SST sets keepNames) so stack traces stay readable without shipping source maps.
 */
export const NODE_BUNDLING = {
  format: "esm",
  minify: true,
  sourcemap: false,
  esbuild: { target: "node22" },
} as const;

/** AWS Lambda deprecated nodejs20.x on 2026-04-30; the bundles target the same Node.js line (NODE_BUNDLING). */
export const LAMBDA_RUNTIME = "nodejs22.x";

/** Operational logs only (the audit trail is the remediation log table); kept a year for incident review. */
const LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

export interface ServiceFunctionProps {
  /** Path from the project root, e.g. packages/functions/src/engine.handler. */
  handler: string;
  description: string;
  timeout: Duration;
  memorySize?: number;
  environment: Record<string, string>;
  /** Everything the function may do besides writing its own logs. */
  statements: iam.PolicyStatement[];
  /** SST secrets; binding grants ssm:GetParameters on exactly their parameters. */
  secrets?: Config.Secret[];
  copyFiles?: FunctionCopyFilesProps[];
  /** A fixed role name, for roles other functions must recognise by ARN (the loop guard). */
  roleName?: string;
  /** Concurrent executions reserved for, and capping, the function: an SQS consumer's maximum concurrency. */
  reservedConcurrency?: number;
  /** For asynchronously invoked (scheduled) functions: where a failed invocation is recorded, and its retries. */
  onFailure?: { queue: sqs.IQueue; retryAttempts: number };
}

export interface ServiceFunction {
  fn: Function;
  role: iam.Role;
  logGroup: logs.LogGroup;
}

/**
 * A Lambda function with its own role and log group. The role is built here, not by CDK, so it holds no managed
 * policy: logging is granted on this log group only, and everything else is the explicit `statements`.
 */
export function serviceFunction(scope: Construct, id: string, props: ServiceFunctionProps): ServiceFunction {
  const key = encryptionKeyFor(scope);
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: LOG_RETENTION,
    removalPolicy: RemovalPolicy.RETAIN,
    ...(key ? { encryptionKey: key } : {}),
  });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    description: props.description,
    ...(props.roleName ? { roleName: props.roleName } : {}),
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: "OwnLogs",
      effect: iam.Effect.ALLOW,
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [logGroup.logGroupArn],
    }),
  );
  for (const statement of [...props.statements, ...keyUseStatements(scope)]) role.addToPrincipalPolicy(statement);

  const fn = new Function(scope, id, {
    handler: props.handler,
    description: props.description,
    runtime: LAMBDA_RUNTIME,
    architecture: "arm_64",
    timeout: props.timeout.toSeconds(),
    memorySize: props.memorySize ?? 512,
    role,
    logGroup,
    environment: props.environment,
    bind: props.secrets ?? [],
    ...(props.copyFiles ? { copyFiles: props.copyFiles } : {}),
    nodejs: { ...NODE_BUNDLING, esbuild: { ...NODE_BUNDLING.esbuild } },
    ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
  });
  if (props.onFailure) {
    fn.configureAsyncInvoke({ onFailure: new FailedRunsDestination(props.onFailure.queue), retryAttempts: props.onFailure.retryAttempts });
  }
  return { fn, role, logGroup };
}

/**
 * An SQS on-failure destination granting exactly sqs:SendMessage (CDK's SqsDestination grants, on a KMS-encrypted
 * queue, kms:ReEncrypt* and kms:GenerateDataKey* too; the key statement of serviceFunction covers what is needed).
 */
class FailedRunsDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(sendAccess("RecordFailedRuns", this.queue));
    return { destination: this.queue.queueArn };
  }
}

/** The ARN a role with a fixed name will have in this stack's account, without referencing the role itself. */
export function roleArnFor(scope: Construct, roleName: string): string {
  return Stack.of(scope).formatArn({ service: "iam", region: "", resource: "role", resourceName: roleName });
}

/** IAM role names are at most 64 characters; stage and app names make them long, so this fails early and clearly. */
export function fixedRoleName(app: { stage: string; name: string }, purpose: string): string {
  const name = `${app.stage}-${app.name}-${purpose}`;
  if (name.length > 64) {
    throw new Error(`IAM role name "${name}" is ${name.length} characters; the limit is 64. Use a shorter stage or app name.`);
  }
  return name;
}
