import type { Duration } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { controls } from "@hipaa-remediate/remediations";
import { use, type StackContext } from "sst/constructs";
import { AuditLog } from "../AuditLog";
import { State } from "../State";
import { APPLYING_MODES_BY_PURPOSE, policyControlStatements } from "./control-grants";
import { useDeployedPolicy, useDeployment } from "./deployment";
import { serviceFunction, type ServiceFunction, type ServiceFunctionProps } from "./functions";
import { functionAlarms } from "./operations";
import { consumeAccess } from "./queues";
import { remediatorEnvironment, remediatorRoleName, remediatorStatements, type RemediatorPurpose } from "./remediator";

export interface RemediatorFunctionProps {
  purpose: RemediatorPurpose;
  handler: string;
  description: string;
  timeout: Duration;
  /** Added to the environment every remediator gets. */
  environment?: Record<string, string>;
  /** A queue the function consumes in batches, reporting failed records one by one. */
  consumes?: { queue: sqs.IQueue; batchSize: number; maxConcurrency: number };
  /** Statements this function needs beyond every remediator's (e.g. the engine re-queueing deferred events). */
  statements?: iam.PolicyStatement[];
  /** For a scheduled function: where its failed runs go (functions.ts ServiceFunctionProps.onFailure). */
  onFailure?: ServiceFunctionProps["onFailure"];
}

/**
 * A function that detects and fixes (engine, sweep, approval worker): the controls' permissions, the engine's
 * tables, the Slack bot token, the bundled policy, and a fixed role name the loop guard knows.
 */
export function remediatorFunction({ app, stack }: StackContext, id: string, props: RemediatorFunctionProps): ServiceFunction {
  const { settings } = useDeployment(app);
  const policy = useDeployedPolicy(app);
  const { log } = use(AuditLog);
  const { proposals, exemptions, idempotency, rateLimit, slackBotToken } = use(State);
  const tables = { log, proposals, exemptions, idempotency, rateLimit };
  const consumes = props.consumes;
  const remediator = serviceFunction(stack, id, {
    handler: props.handler,
    description: props.description,
    timeout: props.timeout,
    memorySize: 1024,
    roleName: remediatorRoleName(app, props.purpose),
    environment: {
      ...remediatorEnvironment({
        scope: stack,
        app,
        purpose: props.purpose,
        tables,
        homeRegion: settings.homeRegion,
        slackChannel: policy.policy.slack.channel,
        policyEnvironment: policy.environment,
      }),
      ...props.environment,
    },
    statements: [
      ...remediatorStatements(
        tables,
        controls,
        policyControlStatements(stack, controls, policy.policy, APPLYING_MODES_BY_PURPOSE[props.purpose]),
      ),
      ...(consumes ? [consumeAccess(`Consume${id}Queue`, consumes.queue)] : []),
      ...(props.statements ?? []),
    ],
    secrets: [slackBotToken],
    copyFiles: policy.copyFiles,
    // A queue consumer's reserved concurrency is its event source mapping's maximum: Lambda never throttles the
    // mapping's own pollers, and nothing else can take the function's capacity.
    ...(consumes ? { reservedConcurrency: consumes.maxConcurrency } : {}),
    ...(props.onFailure ? { onFailure: props.onFailure } : {}),
  });
  if (consumes) {
    remediator.fn.addEventSourceMapping(`${id}QueueSource`, {
      eventSourceArn: consumes.queue.queueArn,
      batchSize: consumes.batchSize,
      reportBatchItemFailures: true,
      maxConcurrency: consumes.maxConcurrency,
    });
    // Errors and throttles of a consumer mean events wait, retry and may end in the dead-letter queue.
    functionAlarms(stack, id, remediator.fn, props.description.split(":")[0] ?? id);
  }
  return remediator;
}
