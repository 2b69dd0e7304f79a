import type { StackContext } from "sst/constructs";
import { useDeployment } from "./lib/deployment";
import { alarmTopic, engineKey, provideOperations } from "./lib/operations";

/**
 * What the other home stacks report to and encrypt with: the alarm topic every alarm notifies (with an e-mail
 * subscription from HIPAA_ALARM_EMAIL), and the customer-managed KMS key when HIPAA_ENCRYPTION_KEY asks for one.
 * Built first, so the other stacks find both through lib/operations.
 */
export function Operations({ app, stack }: StackContext) {
  const { settings } = useDeployment(app);
  const topic = alarmTopic(stack, "AlarmTopic");
  const key = settings.encryptionKey === "customer-managed" ? engineKey(stack, "EngineKey") : undefined;
  provideOperations(stack, { stack, topic, ...(key ? { key } : {}) });
  stack.addOutputs({ AlarmTopicArn: topic.topicArn, ...(key ? { EngineKeyArn: key.keyArn } : {}) });
  return { topic, key };
}
