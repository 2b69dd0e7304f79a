import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { ACCESS_DENIED_METRIC } from "@hipaa-remediate/core";
import { use, type StackContext } from "sst/constructs";
import { Ingestion } from "./Ingestion";
import { anyOccurrenceAlarm } from "./lib/operations";
import { sendAccess } from "./lib/queues";
import { ENV } from "./lib/remediator";
import { remediatorFunction } from "./lib/remediator-function";
import { ENGINE_TIMEOUT } from "./lib/timeouts";

/** Records per invocation; each is processed on its own and reported back if it fails. */
const ENGINE_BATCH_SIZE = 10;
/** Caps concurrent engines: bounds the blast radius of a bad policy and the contention on the rate limiter. */
const ENGINE_MAX_CONCURRENCY = 5;

/** The engine: reads the queue in batches, detects, decides by policy, fixes or proposes, and logs every step. */
export function Engine(context: StackContext) {
  const { stack } = context;
  const { engineQueue } = use(Ingestion);

  const engine = remediatorFunction(context, "EngineFunction", {
    purpose: "engine",
    handler: "packages/functions/src/engine.handler",
    description: "hipaa-remediate engine: remediates CloudTrail changes that break HIPAA safeguards",
    timeout: ENGINE_TIMEOUT,
    consumes: { queue: engineQueue.queue, batchSize: ENGINE_BATCH_SIZE, maxConcurrency: ENGINE_MAX_CONCURRENCY },
    // A control that asks to look again later (tags still landing) has the event sent back here with a delay.
    environment: { [ENV.deferralQueueUrl]: engineQueue.queue.queueUrl },
    statements: [sendAccess("DeferToEngineQueue", engineQueue.queue)],
  });
  // The engine, the sweep and the approval worker count every refused AssumeRole or fix (a missing member role,
  // a narrowed grant) in one metric without dimensions: one alarm covers every account.
  anyOccurrenceAlarm(
    stack,
    "AccessDeniedAlarm",
    new cloudwatch.Metric({
      namespace: ACCESS_DENIED_METRIC.namespace,
      metricName: ACCESS_DENIED_METRIC.name,
      statistic: "Sum",
      period: Duration.minutes(5),
    }),
    "The engine was refused access in an account (missing member role or AccessDenied): fixes there fail until it is granted",
  );
  stack.addOutputs({ EngineFunctionName: engine.fn.functionName, EngineRoleArn: engine.role.roleArn });
  return { engine };
}
