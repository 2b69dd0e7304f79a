import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import { Duration } from "aws-cdk-lib";
import { eventPatternsFor, forwardedFromGlobalRegion } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { StackContext } from "sst/constructs";
import { useDeployment } from "./lib/deployment";
import { describeMatched, ruleEventPattern } from "./lib/events";
import { deadLetterAlarm, encryptedQueue } from "./lib/queues";

/**
 * Deployed in us-east-1 only when the home region is elsewhere. Global services (IAM above all) publish their
 * CloudTrail events only in us-east-1, and root console sign-ins are recorded there too, so these rules forward
 * exactly the global triggers and the identity triggers (e.g. any root activity) to the home region's default bus,
 * where the Ingestion rules pick them up like local events.
 */
export function GlobalEvents({ app, stack }: StackContext) {
  const { settings } = useDeployment(app);
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
    description: `Forwards global services' CloudTrail events to the default bus in ${settings.homeRegion}`,
  });
  const deadLetterQueue = encryptedQueue(stack, "ForwardingDeadLetter", { retentionPeriod: Duration.days(14) });
  deadLetterAlarm(stack, "ForwardingDeadLetterAlarm", deadLetterQueue, "Global events that could not be forwarded to the home region");

  const rules = eventPatternsFor(controls)
    .filter(forwardedFromGlobalRegion)
    .map(
      (generated) =>
        new events.Rule(stack, `Forward-${generated.key}`, {
          description: `Forwards ${describeMatched(generated)} to ${settings.homeRegion}`,
          eventPattern: ruleEventPattern(generated.pattern),
          targets: [new targets.EventBus(homeBus, { role, deadLetterQueue })],
        }),
    );
  stack.addOutputs({ ForwardingTo: homeBusArn, ForwardingDeadLetterQueueUrl: deadLetterQueue.queueUrl });
  return { rules, role };
}
