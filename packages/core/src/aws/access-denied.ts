import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  InitializeHandlerOutput,
  MiddlewareStack,
} from "@smithy/types";

/** Who a set of clients acts as: the engine's own account and role, or a member account's role. */
export interface ActingAs {
  account?: string;
  role?: string;
  member: boolean;
}

/** One access-denied answer, as the metric and the alarm see it. No request content: only who, where and what. */
export interface AccessDenial {
  kind: "assume-role" | "call";
  account?: string;
  role?: string;
  /** e.g. `S3Client PutBucketEncryptionCommand`, or `sts:AssumeRole`. */
  operation: string;
}

/** Error names AWS services use for a refused permission (S3/IAM/STS, JSON services, EC2). */
const ACCESS_DENIED_NAMES = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"]);

export function isAccessDeniedName(name: string): boolean {
  return ACCESS_DENIED_NAMES.has(name);
}

/**
 * An AWS call the engine's credentials may not make. Retrying cannot help: it needs a person to grant the
 * permission (or deploy the member role), so the runner records it as failed and does not hand it back to SQS.
 * The name stays the service's own (AccessDenied, UnauthorizedOperation...); the message says who was refused and
 * what to do.
 */
export class AwsAccessDeniedError extends Error {
  readonly Code: string;
  constructor(
    readonly denial: AccessDenial,
    message: string,
    options: { name: string; cause: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = options.name;
    this.Code = options.name;
  }
}

function whoIs(actingAs: ActingAs): string {
  const account = actingAs.account ? `account ${actingAs.account}` : "the engine's account";
  return actingAs.role ? `role ${actingAs.role} in ${account}` : `the engine's credentials in ${account}`;
}

/** What a person must do about a refused call, by whose credentials were refused. */
function remedyFor(actingAs: ActingAs): string {
  return actingAs.member
    ? "update the member template's role (redeploy the StackSet to this account) so it grants the action, or exempt the resource"
    : "grant the engine's role the action (deploy the stack with this control in approve or auto mode), or exempt the resource";
}

function describeCause(error: Error): string {
  return `${error.name}: ${error.message}`;
}

export function memberRoleDenied(account: string, role: string, cause: Error): AwsAccessDeniedError {
  return new AwsAccessDeniedError(
    { kind: "assume-role", account, role, operation: "sts:AssumeRole" },
    `cannot act in account ${account}: the engine may not assume ${role} (${describeCause(cause)}). ` +
      "Deploy the member template to this account (StackSet), check that its role trusts the engine's role and that " +
      "its ExternalId matches scope.organization.externalId, or remove the account from scope.organization.accounts",
    { name: cause.name, cause },
  );
}

/**
 * A client middleware that turns an access-denied answer into an AwsAccessDeniedError naming the account and role,
 * and reports it once (the metric). It sits at the initialize step, outside retries and signing, so it also sees a
 * member role that could not be assumed (raised by the credentials provider) and reports it as that.
 */
/** A plugin that fits every SDK client, whatever its input and output types. */
export interface AnyClientPlugin {
  applyToStack<Input extends object, Output extends object>(stack: MiddlewareStack<Input, Output>): void;
}

export function accessDeniedMiddleware(actingAs: ActingAs, onAccessDenied?: (denial: AccessDenial) => void): AnyClientPlugin {
  const middleware =
    <Input extends object, Output extends object>(next: InitializeHandler<Input, Output>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<Input>): Promise<InitializeHandlerOutput<Output>> => {
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof AwsAccessDeniedError) {
          onAccessDenied?.(error.denial);
          throw error;
        }
        // AssumeRole's own refusal is the credentials provider's to describe: it knows the member account.
        if (!(error instanceof Error) || !isAccessDeniedName(error.name) || context.commandName === "AssumeRoleCommand") throw error;
        const operation = `${context.clientName ?? "AWS"} ${context.commandName ?? "call"}`;
        const denial: AccessDenial = {
          kind: "call",
          ...(actingAs.account ? { account: actingAs.account } : {}),
          ...(actingAs.role ? { role: actingAs.role } : {}),
          operation,
        };
        onAccessDenied?.(denial);
        throw new AwsAccessDeniedError(
          denial,
          `${operation} denied to ${whoIs(actingAs)} (${describeCause(error)}): ${remedyFor(actingAs)}`,
          {
            name: error.name,
            cause: error,
          },
        );
      }
    };
  return {
    applyToStack: <Input extends object, Output extends object>(stack: MiddlewareStack<Input, Output>) => {
      stack.add(middleware<Input, Output>, { step: "initialize", name: "engineAccessDenied", override: true });
    },
  };
}

export const ACCESS_DENIED_METRIC = { namespace: "hipaa-remediate", name: "AccessDenied" } as const;

/**
 * One CloudWatch Embedded Metric Format record for an access-denied answer: printed as a line of the Lambda's log,
 * it becomes the metric `hipaa-remediate/AccessDenied` (no dimension, so one alarm watches every account); the
 * account, role and operation ride along as properties, searchable in Logs Insights.
 */
export function accessDeniedMetricLine(denial: AccessDenial, at: Date): string {
  return JSON.stringify({
    _aws: {
      Timestamp: at.getTime(),
      CloudWatchMetrics: [
        { Namespace: ACCESS_DENIED_METRIC.namespace, Dimensions: [[]], Metrics: [{ Name: ACCESS_DENIED_METRIC.name, Unit: "Count" }] },
      ],
    },
    Kind: denial.kind,
    ...(denial.account ? { Account: denial.account } : {}),
    ...(denial.role ? { Role: denial.role } : {}),
    Operation: denial.operation,
    [ACCESS_DENIED_METRIC.name]: 1,
  });
}
