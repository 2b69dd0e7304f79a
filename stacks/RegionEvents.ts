import type { StackContext } from "sst/constructs";
import { forwarderStack } from "./lib/forwarder";

/**
 * Deployed in every region of the policy's scope.regions other than home (and other than us-east-1, which has
 * GlobalEvents): rules generated from the catalog forward this region's matching CloudTrail events to the home
 * region's default bus, where the Ingestion rules pick them up like local events. The events keep their region.
 */
export function RegionEvents(context: StackContext) {
  return forwarderStack(context, `CloudTrail events of ${context.stack.region}`);
}
