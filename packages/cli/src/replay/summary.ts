import type { DecisionMode, EventReport, FindingReport } from "@hipaa-remediate/core";

/** Counts for the summary line. `records` always equals changes + ignored + rejected. */
export interface ReplaySummary {
  records: number;
  /** Records that were changes (successful calls): matched plus unmatched. */
  changes: number;
  matched: number;
  unmatched: number;
  ignored: number;
  rejected: number;
  findings: number;
  decisions: Record<DecisionMode, number>;
  noLongerApplies: number;
  duplicates: number;
  failures: number;
  files: number;
  bytes: number;
  durationMs: number;
  /** True when the run stopped before the end of its inputs; the counts cover what it did until then. */
  aborted: boolean;
  /** Why it stopped, when it did. */
  abortReason?: string;
}

export function emptySummary(): ReplaySummary {
  return {
    records: 0,
    changes: 0,
    matched: 0,
    unmatched: 0,
    ignored: 0,
    rejected: 0,
    findings: 0,
    decisions: { "dry-run": 0, approve: 0, auto: 0, exempt: 0, suppressed: 0 },
    noLongerApplies: 0,
    duplicates: 0,
    failures: 0,
    files: 0,
    bytes: 0,
    durationMs: 0,
    aborted: false,
  };
}

export function countEvent(summary: ReplaySummary, report: EventReport): void {
  summary.records += 1;
  if (report.status === "ignored") {
    summary.ignored += 1;
    return;
  }
  if (report.status === "rejected") {
    summary.rejected += 1;
    return;
  }
  summary.changes += 1;
  if (report.status === "unmatched") {
    summary.unmatched += 1;
    return;
  }
  summary.matched += 1;
  summary.noLongerApplies += report.noLongerApplies;
  summary.duplicates += report.duplicates;
  summary.failures += report.failures;
  for (const finding of report.findings) countFinding(summary, finding);
}

/** A change no control listens to: what countEvent does with the engine's "unmatched" report. */
export function countUnmatched(summary: ReplaySummary): void {
  summary.records += 1;
  summary.changes += 1;
  summary.unmatched += 1;
}

/** A deferred event looked at again: its outcomes count, but it is not another record or change. */
export function countRecheck(summary: ReplaySummary, report: EventReport): void {
  summary.noLongerApplies += report.noLongerApplies;
  summary.duplicates += report.duplicates;
  summary.failures += report.failures;
  for (const finding of report.findings) countFinding(summary, finding);
}

function countFinding(summary: ReplaySummary, finding: FindingReport): void {
  summary.findings += 1;
  summary.decisions[finding.decision] += 1;
}
