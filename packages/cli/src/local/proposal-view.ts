import {
  UNLOGGABLE_KEYS,
  type ControlSummary,
  type Decider,
  type JsonObject,
  type JsonValue,
  type Proposal,
  type ProposalStatus,
  type ResourceRef,
} from "@hipaa-remediate/core";

/** A control as a person deciding on one of its proposals needs to see it. */
export interface ControlView {
  id: string;
  title: string;
  category?: string;
  severity?: string;
  hipaa: { sections: string[]; why: string };
}

export interface EvidenceLine {
  field: string;
  value: string;
}

/**
 * Everything a person needs to decide a proposal, and nothing more: the change and who made it, why it matters
 * under HIPAA, the evidence, exactly what the fix does, whether it can be undone, and the plan hash the decision
 * pins. The CLI prints it and the local page renders it (`GET /api/proposals`).
 */
export interface ProposalView {
  id: string;
  status: ProposalStatus;
  createdAt: string;
  expiresAt: string;
  control: ControlView;
  resource: ResourceRef;
  finding: { summary: string; confirmed: boolean };
  /** The CloudTrail change that led here; absent for sweep findings. */
  change?: { eventId: string; name: string; source: string; actor: string; time: string };
  evidence: EvidenceLine[];
  plan: { summary: string; steps: string[]; reversible: boolean };
  planHash: string;
  decidedBy?: Decider;
  decidedAt?: string;
}

const EVIDENCE_VALUE_LIMIT = 200;
const withheldKeys = new Set(UNLOGGABLE_KEYS.map(normaliseKey));

/** Describes the control with what the registry knows; falls back to the bare id for a control since removed. */
export type DescribeRegisteredControl = (id: string) => (ControlSummary & { category?: string; severity?: string }) | undefined;

export function proposalView(proposal: Proposal, describeControl: DescribeRegisteredControl): ProposalView {
  const control = describeControl(proposal.control);
  const event = proposal.finding.event;
  return {
    id: proposal.id,
    status: proposal.status,
    createdAt: proposal.createdAt,
    expiresAt: proposal.expiresAt,
    control: {
      id: proposal.control,
      title: control?.title ?? proposal.control,
      ...(control?.category ? { category: control.category } : {}),
      ...(control?.severity ? { severity: control.severity } : {}),
      hipaa: { sections: [...(control?.hipaa.sections ?? [])], why: control?.hipaa.why ?? "" },
    },
    resource: proposal.finding.resource,
    finding: { summary: proposal.finding.summary, confirmed: proposal.finding.confirmed },
    ...(event ? { change: { eventId: event.id, name: event.name, source: event.source, actor: event.actor, time: event.time } } : {}),
    evidence: evidenceLines(proposal.finding.evidence),
    plan: { summary: proposal.plan.summary, steps: [...proposal.plan.steps], reversible: proposal.plan.reversible },
    planHash: proposal.planHash,
    ...(proposal.decidedBy ? { decidedBy: proposal.decidedBy } : {}),
    ...(proposal.decidedAt ? { decidedAt: proposal.decidedAt } : {}),
  };
}

/**
 * Evidence as `field: value` lines, nested objects flattened to dotted fields. Fields that name secrets or object
 * contents are withheld and long values cut, so the page and the terminal show configuration only.
 */
export function evidenceLines(evidence: JsonObject): EvidenceLine[] {
  const lines: EvidenceLine[] = [];
  const visit = (value: JsonValue, field: string, key: string) => {
    if (withheldKeys.has(normaliseKey(key))) {
      lines.push({ field, value: "(withheld)" });
    } else if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
      for (const [child, childValue] of Object.entries(value)) visit(childValue, `${field}.${child}`, child);
    } else {
      lines.push({ field, value: cut(typeof value === "string" ? value : JSON.stringify(value)) });
    }
  };
  for (const [key, value] of Object.entries(evidence)) visit(value, key, key);
  return lines;
}

function cut(text: string): string {
  const chars = Array.from(text);
  return chars.length <= EVIDENCE_VALUE_LIMIT ? text : `${chars.slice(0, EVIDENCE_VALUE_LIMIT - 1).join("")}…`;
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}
