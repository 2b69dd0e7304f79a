import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import { eventPatternsFor } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { StackContext } from "sst/constructs";
import { describeMatched, ruleEventPattern } from "./lib/events";
import { workQueue } from "./lib/queues";
import { ENGINE_TIMEOUT } from "./lib/timeouts";

/**
 * CloudTrail management events -> EventBridge rules on the default bus -> the engine queue. The rules are generated
 * from the control registry's triggers, so a new control is watched as soon as it is registered. In a home region
 * other than us-east-1 the global services' rules match the events the GlobalEvents stack forwards here.
 */
export function Ingestion({ stack }: StackContext) {
  const engineQueue = workQueue(stack, "EngineQueue", { consumerTimeout: ENGINE_TIMEOUT, description: "Engine queue" });
  const rules = eventPatternsFor(controls).map(
    (generated) =>
      new events.Rule(stack, `Trigger-${generated.key}`, {
        description: `${describeMatched(generated)} that a registered control listens to`,
        eventPattern: ruleEventPattern(generated.pattern),
        // Events EventBridge cannot deliver (after its own retries) land in the dead-letter queue, and raise its alarm.
        targets: [new targets.SqsQueue(engineQueue.queue, { deadLetterQueue: engineQueue.deadLetterQueue })],
      }),
  );
  stack.addOutputs({
    EngineQueueUrl: engineQueue.queue.queueUrl,
    EngineDeadLetterQueueUrl: engineQueue.deadLetterQueue.queueUrl,
  });
  return { engineQueue, rules };
}
