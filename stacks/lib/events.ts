import type * as events from "aws-cdk-lib/aws-events";
import type { CloudTrailEventPattern, GeneratedEventPattern } from "@hipaa-remediate/core";

/** CDK spells `detail-type` as `detailType`; it renders back to exactly the generated pattern. */
export function ruleEventPattern(pattern: CloudTrailEventPattern): events.EventPattern {
  return { ...("source" in pattern ? { source: pattern.source } : {}), detailType: pattern["detail-type"], detail: pattern.detail };
}

/** What a generated rule matches, in words, for the rule's description. */
export function describeMatched(generated: GeneratedEventPattern): string {
  return generated.kind === "service"
    ? `CloudTrail management events from ${generated.eventSource}`
    : `CloudTrail events (API calls or sign-ins) made by a ${generated.actorTypes.join(" or ")} identity`;
}
