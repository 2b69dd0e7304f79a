import { csvRow } from "../../log/export";
import { FINDING_OUTCOMES, type ComplianceReport, type OutcomeCounts } from "../model";

/**
 * The report as one CSV table for GRC tools. Each row is one `record`: `report` (a header figure as metric/value),
 * `section` (a HIPAA section's figures), `control` (a control's mode), `finding` (a finding, its outcome and the
 * log entries behind it), `open-proposal`, `expiring-exemption` and `sweep` (the latest sweep, per control).
 * Columns a record does not use are empty. Durations are in whole seconds. The columns only ever grow at the end.
 */
export const REPORT_CSV_COLUMNS = [
  "record",
  "metric",
  "value",
  "section",
  "section_name",
  "areas",
  "control",
  "mode",
  "resource",
  "seq",
  "at",
  "event_time",
  "event_id",
  "actor",
  "outcome",
  "outcome_at",
  "decided_by",
  "proposal_id",
  "exemption_reason",
  "exemption_owner",
  "exemption_expires",
  "time_to_remediate_s",
  "detail",
  "entry_seqs",
  "entry_hashes",
  "findings",
  ...FINDING_OUTCOMES.map((outcome) => `outcome_${outcome.replace(/-/g, "_")}`),
  "ttr_count",
  "ttr_p50_s",
  "ttr_p95_s",
  "ttr_max_s",
  "open_proposals",
  "expiring_exemptions",
  "resources_checked",
  "out_of_compliance",
  "age_s",
  "expires",
] as const;
type Column = (typeof REPORT_CSV_COLUMNS)[number];
type Row = Partial<Record<Column, string | number | boolean | undefined>>;

export function renderReportCsv(report: ComplianceReport): string {
  const rows: Row[] = [
    ...headerRows(report),
    ...report.sections.map((s): Row => ({
      record: "section",
      section: s.id,
      section_name: s.name,
      areas: s.areas.map((a) => a.id).join(" "),
      control: s.controls.map((c) => c.control).join(" "),
      findings: s.findings,
      ...outcomeColumns(s.outcomes),
      ttr_count: s.timeToRemediate.count,
      ttr_p50_s: seconds(s.timeToRemediate.p50Ms),
      ttr_p95_s: seconds(s.timeToRemediate.p95Ms),
      ttr_max_s: seconds(s.timeToRemediate.maxMs),
      open_proposals: s.openProposals,
      expiring_exemptions: s.expiringExemptions,
      resources_checked: s.posture?.resourcesChecked,
      out_of_compliance: s.posture?.outOfCompliance,
    })),
    ...report.controls.map((c): Row => ({
      record: "control",
      control: c.control,
      areas: c.category,
      mode: c.enabled ? c.mode : "disabled",
      value: c.modeFrom,
      detail: c.notes.join("; "),
    })),
    ...report.findings.map((f): Row => ({
      record: "finding",
      section: f.sections.join(" "),
      areas: f.category,
      control: f.control,
      mode: f.mode,
      resource: f.resource,
      seq: f.seq,
      at: f.at,
      event_time: f.eventTime,
      event_id: f.eventId,
      actor: f.actor,
      outcome: f.outcome,
      outcome_at: f.outcomeAt,
      decided_by: f.decidedBy,
      proposal_id: f.proposalId,
      exemption_reason: f.exemption?.reason,
      exemption_owner: f.exemption?.owner,
      exemption_expires: f.exemption?.expires,
      time_to_remediate_s: seconds(f.timeToRemediateMs),
      detail: f.detail ?? f.summary,
      entry_seqs: f.entries.map((e) => e.seq).join(" "),
      entry_hashes: f.entries.map((e) => e.hash).join(" "),
    })),
    ...report.openProposals.map((p): Row => ({
      record: "open-proposal",
      control: p.control,
      resource: p.resource,
      proposal_id: p.id,
      at: p.createdAt,
      expires: p.expiresAt,
      age_s: seconds(p.ageMs),
      detail: p.summary,
    })),
    ...report.expiringExemptions.map((e): Row => ({
      record: "expiring-exemption",
      control: e.controls.join(" "),
      resource: e.resource,
      value: e.source,
      exemption_reason: e.reason,
      exemption_owner: e.owner,
      exemption_expires: e.expires,
      expires: e.daysLeft,
    })),
    ...(report.lastSweep?.controls.map((c): Row => ({
      record: "sweep",
      value: report.lastSweep?.sweepId,
      at: report.lastSweep?.at,
      seq: report.lastSweep?.seq,
      control: c.control,
      resources_checked: c.resourcesChecked,
      out_of_compliance: c.outOfCompliance,
      detail: c.complete ? (c.failures ? `${c.failures} failures` : "") : `incomplete: listing failed (${c.failures} failures)`,
    })) ?? []),
  ];
  return [csvRow(REPORT_CSV_COLUMNS), ...rows.map((row) => csvRow(REPORT_CSV_COLUMNS.map((column) => cell(row[column]))))].join("");
}

function headerRows(report: ComplianceReport): Row[] {
  const { header, totals } = report;
  const figures: [string, string | number | boolean | undefined][] = [
    ["title", header.title],
    ["generated_at", header.generatedAt],
    ["tool_version", header.toolVersion],
    ["store", header.store],
    ["since", header.period.since],
    ["until", header.period.until],
    ["chain_ok", header.chain.ok],
    ["chain_entries_verified", header.chain.checked],
    ["chain_first_bad_seq", header.chain.firstBad?.seq],
    ["chain_first_bad_problem", header.chain.firstBad ? `${header.chain.firstBad.problem}: ${header.chain.firstBad.detail}` : undefined],
    ["head_seq", header.head?.seq],
    ["head_hash", header.head?.hash],
    ["entries_read", header.entriesRead],
    ["unreadable_entries", header.unreadableEntries.join(" ")],
    ["policy_hash", header.policy.hash],
    ["policy_source", header.policy.source],
    ["findings", totals.findings],
    ...FINDING_OUTCOMES.map((outcome): [string, number] => [`outcome_${outcome.replace(/-/g, "_")}`, totals.outcomes[outcome]]),
    ["ttr_count", totals.timeToRemediate.count],
    ["ttr_p50_s", seconds(totals.timeToRemediate.p50Ms)],
    ["ttr_p95_s", seconds(totals.timeToRemediate.p95Ms)],
    ["ttr_max_s", seconds(totals.timeToRemediate.maxMs)],
  ];
  return figures.map(([metric, value]) => ({ record: "report", metric, value }));
}

function outcomeColumns(outcomes: OutcomeCounts): Row {
  return Object.fromEntries(FINDING_OUTCOMES.map((outcome) => [`outcome_${outcome.replace(/-/g, "_")}`, outcomes[outcome]]));
}

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms / 1000);
}

function cell(value: string | number | boolean | undefined): string {
  return value === undefined ? "" : String(value);
}
