import type { StackContext } from "sst/constructs";
import { forwarderStack } from "./lib/forwarder";

/**
 * Deployed in us-east-1 only when the home region is elsewhere. Global services (IAM above all) publish their
 * CloudTrail events only in us-east-1, and root console sign-ins are recorded there too, so these rules forward
 * the global triggers and the identity triggers (e.g. any root activity) to the home region's default bus, where
 * the Ingestion rules pick them up like local events; when the policy's scope lists us-east-1, its regional
 * triggers too (see forwardedPatterns).
 */
export function GlobalEvents(context: StackContext) {
  return forwarderStack(context, "Global services' and us-east-1's CloudTrail events");
}
