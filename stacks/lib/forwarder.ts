import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import type { StackContext } from "sst/constructs";
import { useDeployedPolicy, useDeployment } from "./deployment";
import { forwardedPatterns, forwardingRules } from "./forwarding";
import { deadLetterAlarm, encryptedQueue } from "./queues";

/**
 * The body of every forwarding stack (one per region other than home): the catalog's patterns that concern this
 * region, each a rule sending its events to the home region's default bus, through one role and one dead-letter
 * queue with its alarm.
 */
export function forwarderStack({ app, stack }: StackContext, what: string) {
  const { settings } = useDeployment(app);
  const { policy } = useDeployedPolicy(app);
  const homeBusArn = stack.formatArn({
    service: "events",
    region: settings.homeRegion,
    resource: "event-bus",
    resourceName: "default",
  });
  const homeBus = events.EventBus.fromEventBusArn(stack, "HomeBus", homeBusArn);

  // One role for every forwarding rule; each EventBus target grants it events:PutEvents on the home bus only.
  const role = new iam.Role(stack, "ForwardingRole", {
    assumedBy: new iam.ServicePrincipal("events.amazonaws.com"),
    description: `Forwards ${what} to the default bus in ${settings.homeRegion}`,
  });
  const deadLetterQueue = encryptedQueue(stack, "ForwardingDeadLetter", { retentionPeriod: Duration.days(14) });
  deadLetterAlarm(stack, "ForwardingDeadLetterAlarm", deadLetterQueue, `${what} that could not be forwarded to the home region`);

  const rules = forwardingRules(stack, {
    patterns: forwardedPatterns(stack.region, policy.scope),
    destination: homeBus,
    destinationName: settings.homeRegion,
    role,
    deadLetterQueue,
  });
  stack.addOutputs({ ForwardingTo: homeBusArn, ForwardingDeadLetterQueueUrl: deadLetterQueue.queueUrl });
  return { rules, role, deadLetterQueue };
}
