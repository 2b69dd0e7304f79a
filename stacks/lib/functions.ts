import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Function, type Config, type FunctionCopyFilesProps } from "sst/constructs";
import type { Construct } from "constructs";

/**
 * How every handler is bundled (SST runs esbuild at synth time in deploy mode):
 * - ESM (SST's default for Node) with SST's createRequire banner, so CommonJS dependencies still load;
 * - everything bundled, the AWS SDK included: the Node.js 20 runtime ships an SDK v3 whose version AWS moves on its
 *   own schedule, while the engine is tested against the pinned clients (S3's checksum defaults, for one, changed
 *   within v3). Tree-shaking keeps only the clients a handler imports;
 * - minified, names kept (SST sets keepNames) so stack traces stay readable without shipping source maps.
 */
export const NODE_BUNDLING = {
  format: "esm",
  minify: true,
  sourcemap: false,
  esbuild: { target: "node20" },
} as const;

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
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: LOG_RETENTION, removalPolicy: RemovalPolicy.RETAIN });
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
  for (const statement of props.statements) role.addToPrincipalPolicy(statement);

  const fn = new Function(scope, id, {
    handler: props.handler,
    description: props.description,
    runtime: "nodejs20.x",
    architecture: "arm_64",
    timeout: props.timeout.toSeconds(),
    memorySize: props.memorySize ?? 512,
    role,
    logGroup,
    environment: props.environment,
    bind: props.secrets ?? [],
    ...(props.copyFiles ? { copyFiles: props.copyFiles } : {}),
    nodejs: { ...NODE_BUNDLING, esbuild: { ...NODE_BUNDLING.esbuild } },
  });
  return { fn, role, logGroup };
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
