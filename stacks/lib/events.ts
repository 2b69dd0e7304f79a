import type * as events from "aws-cdk-lib/aws-events";
import type { CloudTrailEventPattern } from "@hipaa-remediate/core";

/** CDK spells `detail-type` as `detailType`; it renders back to exactly the generated pattern. */
export function ruleEventPattern(pattern: CloudTrailEventPattern): events.EventPattern {
  return { source: pattern.source, detailType: pattern["detail-type"], detail: pattern.detail };
}
