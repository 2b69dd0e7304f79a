import { use, type StackContext } from "sst/constructs";
import { Ingestion } from "./Ingestion";
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
  stack.addOutputs({ EngineFunctionName: engine.fn.functionName, EngineRoleArn: engine.role.roleArn });
  return { engine };
}
