import type { AnyControl, Finding, Mode } from "../controls/contract";
import type { Decision, ExemptionRef } from "./decision";
import { matchExemptions, type MatchedExemption } from "./exemptions";
import { matchesGlob } from "./glob";
import type { Policy, PolicyOverride } from "./schema";

export interface DecideInput {
  finding: Finding;
  control: Pick<AnyControl, "id" | "defaultMode">;
  policy: Policy;
  now: Date;
  /** Automatic fixes already made in the current rate-limit window (RateLimiter.countInWindow). */
  autoFixesInWindow: number;
}

/**
 * What the policy chooses for one finding. Pure: the same input always gives the same decision. The rules
 * apply in this order, and the reason names each rule that shaped the result:
 *
 * 1. The control is disabled in the policy: `suppressed`.
 * 2. An unexpired exemption (in the file, matched by ARN glob and control, or in the resource's exemption tag)
 *    covers the finding: `exempt`. Expired ones are listed in `expiredExemptions` and do not apply; a malformed
 *    exemption tag is ignored and reported in `warnings`.
 * 3. The base mode: `controls.<id>.mode`, else the control's own default mode, else the policy's `defaultMode`.
 * 4. Overrides, in file order; each one that matches sets the mode, so later matches win.
 * 5. The kill switch, when engaged, turns approve and auto into its fallback (auto never survives it).
 * 6. The rate limit: auto becomes approve once the window's automatic fixes reached the cap.
 *
 * Safety rules come last on purpose: no override can lift the kill switch or the rate limit.
 */
export function decide(input: DecideInput): Decision {
  const { finding, control, policy, now } = input;
  const settings = policy.controls[control.id];
  if (settings && !settings.enabled) {
    return {
      mode: "suppressed",
      reason: `control ${control.id} is disabled in the policy`,
      expiredExemptions: [],
      warnings: [],
    };
  }

  const exemptions = matchExemptions(finding, control.id, policy, now);
  const expiredExemptions = exemptions.expired.map((matched) => matched.ref);
  const notes = [...exemptions.expired.map(describeExpired), ...exemptions.warnings];
  if (exemptions.active) {
    return {
      mode: "exempt",
      reason: [describeActive(exemptions.active), ...notes].join("; "),
      exemption: exemptions.active.ref,
      expiredExemptions,
      warnings: exemptions.warnings,
    };
  }

  const steps: string[] = [];
  let mode = baseMode(control, policy, steps);
  policy.overrides.forEach((override, index) => {
    if (!overrideMatches(override, finding, control.id)) return;
    mode = override.mode;
    steps.push(`${describeOverride(override, index)} -> ${mode}`);
  });
  mode = applyKillSwitch(mode, policy, steps);
  mode = applyRateLimit(mode, input, steps);

  return { mode, reason: [...steps, ...notes].join("; "), expiredExemptions, warnings: exemptions.warnings };
}

function baseMode(control: DecideInput["control"], policy: Policy, steps: string[]): Mode {
  const fromPolicy = policy.controls[control.id]?.mode;
  if (fromPolicy !== undefined) {
    steps.push(`control mode ${fromPolicy}`);
    return fromPolicy;
  }
  if (control.defaultMode !== undefined) {
    steps.push(`control default mode ${control.defaultMode}`);
    return control.defaultMode;
  }
  steps.push(`policy default mode ${policy.defaultMode}`);
  return policy.defaultMode;
}

function overrideMatches(override: PolicyOverride, finding: Finding, controlId: string): boolean {
  const { accounts, regions, tags, controls } = override.match;
  if (accounts && !accounts.includes(finding.resource.account)) return false;
  if (regions && !regions.includes(finding.resource.region)) return false;
  if (controls && !controls.includes(controlId)) return false;
  if (tags) {
    for (const [key, pattern] of Object.entries(tags)) {
      const value = finding.tags[key];
      if (value === undefined || !matchesGlob(pattern, value)) return false;
    }
  }
  return true;
}

/** `override #1 "production needs a human" (accounts 111122223333, tags Environment=prod)` */
function describeOverride(override: PolicyOverride, index: number): string {
  const { accounts, regions, tags, controls } = override.match;
  const criteria = [
    accounts ? `accounts ${accounts.join(" or ")}` : undefined,
    regions ? `regions ${regions.join(" or ")}` : undefined,
    tags
      ? `tags ${Object.entries(tags)
          .map(([key, value]) => `${key}=${value}`)
          .join(" and ")}`
      : undefined,
    controls ? `controls ${controls.join(" or ")}` : undefined,
  ].filter((criterion) => criterion !== undefined);
  const name = override.description === undefined ? "" : ` "${override.description}"`;
  return `override #${index + 1}${name} (${criteria.join(", ")})`;
}

function applyKillSwitch(mode: Mode, policy: Policy, steps: string[]): Mode {
  if (!policy.killSwitch.engaged || mode === "dry-run") return mode;
  const fallback = policy.killSwitch.fallback;
  // approve already waits for a person, so an approve fallback leaves it as it is.
  if (mode === "approve" && fallback === "approve") return mode;
  steps.push(`kill switch engaged -> ${fallback}`);
  return fallback;
}

function applyRateLimit(mode: Mode, input: DecideInput, steps: string[]): Mode {
  const { maxAutoFixes, windowMinutes } = input.policy.rateLimit;
  if (mode !== "auto" || input.autoFixesInWindow < maxAutoFixes) return mode;
  steps.push(`rate limit reached (${input.autoFixesInWindow} of ${maxAutoFixes} automatic fixes in ${windowMinutes} min) -> approve`);
  return "approve";
}

function describeExemption(ref: ExemptionRef): string {
  return `owner ${ref.owner}: ${ref.reason}`;
}

function describeActive(matched: MatchedExemption): string {
  return `exempt until ${matched.ref.expires} by ${matched.origin} (${describeExemption(matched.ref)})`;
}

function describeExpired(matched: MatchedExemption): string {
  return `${matched.origin} expired ${matched.ref.expires} and no longer applies (${describeExemption(matched.ref)})`;
}
