import type { Mode } from "../controls/contract";

/** What the policy chose for a finding. `suppressed` means the control is disabled for this resource. */
export type DecisionMode = Mode | "exempt" | "suppressed";

export interface ExemptionRef {
  /** Where it was granted: the policy file, a resource tag, or an approver (Slack or the local page). */
  source: "policy" | "tag" | "approval";
  /** The ARN or ARN pattern it covers. */
  resource: string;
  /** Control ids, or ["*"] for all. */
  controls: string[];
  reason: string;
  owner: string;
  /** ISO date-time. */
  expires: string;
}

export interface Decision {
  mode: DecisionMode;
  /** Why, in words an approver or auditor understands: names the rule that decided. */
  reason: string;
  exemption?: ExemptionRef;
  /** Exemptions that matched but had expired; the runner logs each as `exemption-expired`. */
  expiredExemptions: ExemptionRef[];
  /** Problems met while deciding that did not stop the decision, e.g. a malformed exemption tag that was ignored. */
  warnings?: string[];
}
