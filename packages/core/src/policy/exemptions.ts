import type { Finding } from "../controls/contract";
import type { ExemptionRef } from "./decision";
import { parseExemptionTag } from "./exemption-tag";
import { hasExpired } from "./expiry";
import { matchesGlob } from "./glob";
import type { Policy } from "./schema";

/** An exemption that covers the finding, with where it was written (for reasons and logs). */
export interface MatchedExemption {
  ref: ExemptionRef;
  /** `policy exemption #2` or `tag hipaa-remediate:exemption`. */
  origin: string;
}

export interface ExemptionMatch {
  /** The first unexpired exemption that covers the finding: file exemptions in file order, then the tag. */
  active?: MatchedExemption;
  /** Every covering exemption that has expired; they no longer apply, and the runner logs each one. */
  expired: MatchedExemption[];
  /** Problems that made an exemption unusable, such as a malformed exemption tag. */
  warnings: string[];
}

function covers(controls: readonly string[], controlId: string): boolean {
  return controls.includes("*") || controls.includes(controlId);
}

function fileExemptions(finding: Finding, controlId: string, policy: Policy): MatchedExemption[] {
  return policy.exemptions.flatMap((exemption, index) =>
    matchesGlob(exemption.resource, finding.resource.arn) && covers(exemption.controls, controlId)
      ? [{ ref: { source: "policy" as const, ...exemption, controls: [...exemption.controls] }, origin: `policy exemption #${index + 1}` }]
      : [],
  );
}

function tagExemption(finding: Finding, controlId: string, policy: Policy): { matched: MatchedExemption[]; warnings: string[] } {
  const value = finding.tags[policy.exemptionTag];
  if (value === undefined) return { matched: [], warnings: [] };
  const parsed = parseExemptionTag(value);
  if (!parsed.ok) {
    return { matched: [], warnings: [`exemption tag ${policy.exemptionTag} on ${finding.resource.arn} ignored: ${parsed.problem}`] };
  }
  if (!covers(parsed.exemption.controls, controlId)) return { matched: [], warnings: [] };
  const ref: ExemptionRef = { source: "tag", resource: finding.resource.arn, ...parsed.exemption };
  return { matched: [{ ref, origin: `tag ${policy.exemptionTag}` }], warnings: [] };
}

/** The exemptions that cover a finding of `controlId`, split into the one that applies and those that lapsed. */
export function matchExemptions(finding: Finding, controlId: string, policy: Policy, now: Date): ExemptionMatch {
  const fromTag = tagExemption(finding, controlId, policy);
  const candidates = [...fileExemptions(finding, controlId, policy), ...fromTag.matched];
  const expired = candidates.filter((candidate) => hasExpired(candidate.ref.expires, now));
  const active = candidates.find((candidate) => !hasExpired(candidate.ref.expires, now));
  return { ...(active ? { active } : {}), expired, warnings: fromTag.warnings };
}
