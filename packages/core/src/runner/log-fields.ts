import type { AnyControl, Finding, Plan, ResourceRef } from "../controls/contract";
import type { LogDraft } from "../log/entry";
import { hashCanonical } from "../support/json";

/** The fields every log entry about a finding shares, so entries for one finding can be joined. */
export function findingFields(control: AnyControl, finding: Finding): Omit<LogDraft, "stage" | "at"> {
  return {
    ...(finding.event ? { eventId: finding.event.id, actor: finding.event.actor } : {}),
    resource: resourceFields(finding.resource),
    control: control.id,
    hipaa: control.hipaa.sections,
  };
}

export function resourceFields(resource: ResourceRef): NonNullable<LogDraft["resource"]> {
  return { arn: resource.arn, type: resource.type, id: resource.id, account: resource.account, region: resource.region };
}

export function planFields(plan: Plan): Pick<LogDraft, "plan" | "planHash"> {
  return { plan, planHash: planHash(plan) };
}

/** The hash an approval must present: SHA-256 of the plan's canonical JSON. */
export function planHash(plan: Plan): string {
  return hashCanonical(plan);
}

export function errorFields(error: unknown): NonNullable<LogDraft["error"]> {
  if (error instanceof Error) {
    const code = (error as { Code?: unknown }).Code;
    return { name: error.name, message: error.message, ...(typeof code === "string" ? { code } : {}) };
  }
  return { name: "Error", message: String(error) };
}
