import type { CategoryId } from "../controls/categories";
import type { Decider, LogEntry } from "../log/entry";
import { isJsonObject, type JsonValue } from "../support/json";
import type { FindingOutcome, FindingRecord, SweepPosture, WeeklyFindings } from "./model";

export interface LedgerOptions {
  /** Findings whose `finding` entry is at or after this time (inclusive). */
  since?: Date;
  /** Findings whose `finding` entry is before this time (exclusive). */
  until?: Date;
  /** The checklist area and HIPAA sections of a control, from the registry; undefined for an unknown control. */
  describeControl(id: string): { category: CategoryId; sections: string[] } | undefined;
}

/** The stages that move a finding to a new outcome. Others (refused clicks, lapsed exemptions) are only attached. */
const OUTCOME_OF_STAGE: Partial<Record<LogEntry["stage"], FindingOutcome>> = {
  exempted: "exempted",
  "would-remediate": "would-remediate",
  proposed: "proposed",
  approved: "approved",
  "rejected-by-approver": "rejected",
  expired: "expired",
  applied: "applied",
  verified: "verified",
  failed: "failed",
  "no-longer-applies": "no-longer-applies",
  "rolled-back": "rolled-back",
};

/** Event times kept for joining: entries about one event follow its `received` entry closely. */
const EVENT_TIMES_KEPT = 10_000;

/**
 * Follows every finding through the log in one pass, in chain order, holding only the findings of the period (and
 * a bounded window of event times): a log of any length is read once, entry by entry.
 *
 * A finding is joined to its later entries by its proposal id when they carry one (approvals, rejections, expiry),
 * otherwise by (event id, control, resource ARN), which every entry about a finding carries. Sweep findings have no
 * event id, so a later sweep's finding on the same resource takes over the key from an earlier one.
 */
export class FindingLedger {
  readonly findings: FindingRecord[] = [];
  private readonly byKey = new Map<string, FindingRecord>();
  private readonly byProposal = new Map<string, FindingRecord>();
  private readonly eventTimes = new Map<string, string>();
  private readonly weekly = new Map<string, WeeklyFindings>();
  private sweep: SweepPosture | undefined;

  constructor(private readonly options: LedgerOptions) {}

  add(entry: LogEntry): void {
    switch (entry.stage) {
      case "received":
        this.rememberEventTime(entry);
        return;
      case "sweep-completed":
        this.sweep = sweepPosture(entry) ?? this.sweep;
        return;
      case "finding":
        this.open(entry);
        return;
      default:
        this.follow(entry);
    }
  }

  /** The most recent sweep's counts, when the log holds one. */
  get lastSweep(): SweepPosture | undefined {
    return this.sweep;
  }

  weeklyFindings(): WeeklyFindings[] {
    return [...this.weekly.values()].sort((a, b) => a.weekStart.localeCompare(b.weekStart));
  }

  private rememberEventTime(entry: LogEntry): void {
    const eventTime = entry.details?.eventTime;
    if (!entry.eventId || typeof eventTime !== "string") return;
    this.eventTimes.set(entry.eventId, eventTime);
    if (this.eventTimes.size > EVENT_TIMES_KEPT) {
      const oldest = this.eventTimes.keys().next();
      if (!oldest.done) this.eventTimes.delete(oldest.value);
    }
  }

  private open(entry: LogEntry): void {
    if (!entry.control || !entry.resource || !this.inPeriod(entry.at)) return;
    const described = this.options.describeControl(entry.control);
    const eventTime = entry.eventId ? this.eventTimes.get(entry.eventId) : undefined;
    const record: FindingRecord = {
      seq: entry.seq,
      at: entry.at,
      ...(eventTime ? { eventTime } : {}),
      ...(entry.eventId ? { eventId: entry.eventId } : {}),
      ...(entry.actor ? { actor: entry.actor } : {}),
      control: entry.control,
      category: described?.category ?? "unknown",
      sections: entry.hipaa ?? described?.sections ?? [],
      resource: entry.resource.arn,
      summary: entry.reason ?? "",
      outcome: "detected",
      outcomeAt: entry.at,
      entries: [ref(entry)],
    };
    this.findings.push(record);
    this.byKey.set(findingKey(entry), record);
    this.countWeekly(record);
  }

  private follow(entry: LogEntry): void {
    const record = (entry.proposalId ? this.byProposal.get(entry.proposalId) : undefined) ?? this.byKey.get(findingKey(entry));
    if (!record) return;
    record.entries.push(ref(entry));
    if (entry.stage === "decision") {
      if (entry.mode) record.mode = entry.mode;
      if (entry.mode === "suppressed") settle(record, entry, "suppressed");
      return;
    }
    const outcome = OUTCOME_OF_STAGE[entry.stage];
    if (!outcome) return;
    settle(record, entry, outcome);
    if (entry.proposalId) {
      record.proposalId = entry.proposalId;
      this.byProposal.set(entry.proposalId, record);
    }
    if (entry.decidedBy) record.decidedBy = describeDecider(entry.decidedBy);
    if (outcome === "exempted") record.exemption = exemptionOf(entry);
    if (outcome === "verified") {
      const started = Date.parse(record.eventTime ?? record.at);
      const ended = Date.parse(entry.at);
      if (Number.isFinite(started) && Number.isFinite(ended)) record.timeToRemediateMs = Math.max(0, ended - started);
    }
  }

  private inPeriod(at: string): boolean {
    const time = Date.parse(at);
    if (this.options.since && time < this.options.since.getTime()) return false;
    if (this.options.until && time >= this.options.until.getTime()) return false;
    return true;
  }

  private countWeekly(record: FindingRecord): void {
    const weekStart = mondayOf(record.at);
    const week = this.weekly.get(weekStart) ?? { weekStart, byArea: {} };
    week.byArea[record.category] = (week.byArea[record.category] ?? 0) + 1;
    this.weekly.set(weekStart, week);
  }
}

function settle(record: FindingRecord, entry: LogEntry, outcome: FindingOutcome): void {
  record.outcome = outcome;
  record.outcomeAt = entry.at;
  const detail = [entry.reason, entry.error ? `${entry.error.name}: ${entry.error.message}` : undefined].filter(Boolean).join(" — ");
  if (detail && outcome !== "would-remediate" && outcome !== "proposed") record.detail = detail;
  else delete record.detail;
}

function findingKey(entry: LogEntry): string {
  return `${entry.eventId ?? ""}|${entry.control ?? ""}|${entry.resource?.arn ?? ""}`;
}

function ref(entry: LogEntry): FindingRecord["entries"][number] {
  return { seq: entry.seq, stage: entry.stage, at: entry.at, hash: entry.hash };
}

export function describeDecider(decider: Decider): string {
  return `${decider.name} (${decider.id}, ${decider.via})`;
}

/** The policy's exemption (details.exemption) or the one an approver granted (details.owner/expires and the reason). */
function exemptionOf(entry: LogEntry): NonNullable<FindingRecord["exemption"]> {
  const details = entry.details ?? {};
  const granted = isJsonObject(details.exemption) ? details.exemption : details;
  const reason = text(granted.reason) ?? entry.reason ?? "";
  const owner = text(granted.owner) ?? (entry.decidedBy ? describeDecider(entry.decidedBy) : "unknown");
  const expires = text(granted.expires);
  const source = granted.source === "policy" || granted.source === "tag" ? granted.source : "approval";
  return { source, reason, owner, ...(expires ? { expires } : {}) };
}

function text(value: JsonValue | undefined): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function sweepPosture(entry: LogEntry): SweepPosture | undefined {
  const details = entry.details;
  if (!details || !Array.isArray(details.controls)) return undefined;
  const controls: SweepPosture["controls"] = [];
  for (const item of details.controls) {
    if (!isJsonObject(item) || typeof item.control !== "string") continue;
    controls.push({
      control: item.control,
      resourcesChecked: count(item.resourcesChecked),
      outOfCompliance: count(item.outOfCompliance),
      failures: count(item.failures),
      complete: item.complete !== false,
    });
  }
  return { sweepId: text(details.sweepId) ?? `seq ${entry.seq}`, at: entry.at, seq: entry.seq, controls };
}

function count(value: JsonValue | undefined): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** The Monday (UTC) of the week an ISO time falls in, as YYYY-MM-DD. */
export function mondayOf(iso: string): string {
  const day = new Date(iso);
  if (Number.isNaN(day.getTime())) return "unknown";
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  const monday = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() - sinceMonday));
  return monday.toISOString().slice(0, 10);
}
