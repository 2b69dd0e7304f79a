import type { CategoryId } from "../controls/categories";
import type { Mode } from "../controls/contract";
import type { ChainLink } from "../log/chain";
import type { BadEntry } from "../log/verify";
import type { ExemptionRef } from "../policy/decision";
import type { HipaaSection } from "./sections";

/**
 * How a finding ended, as far as the log shows:
 * - `verified`: the fix was applied and read back; `failed`: detection, apply or verify failed;
 * - `no-longer-applies`: the resource was compliant (or gone) when the fix was about to run;
 * - `exempted`: an exemption covered it (or an approver granted one); `suppressed`: the control is disabled;
 * - `proposed`: waiting for a person; `approved`, `rejected`, `expired`: what became of the proposal;
 * - `applied`: applied, not yet verified; `rolled-back`: fixed, then undone with `rollback`;
 * - `would-remediate`: dry-run, nothing was changed;
 * - `detected`: decided, nothing further logged (notify-only, or a proposal for the resource was already pending).
 */
export const FINDING_OUTCOMES = [
  "verified",
  "failed",
  "no-longer-applies",
  "exempted",
  "suppressed",
  "proposed",
  "approved",
  "rejected",
  "expired",
  "applied",
  "rolled-back",
  "would-remediate",
  "detected",
] as const;
export type FindingOutcome = (typeof FINDING_OUTCOMES)[number];

export type OutcomeCounts = Record<FindingOutcome, number>;

/** One log entry behind a finding: enough to find it in the log and check it against the chain. */
export interface EntryRef {
  seq: number;
  stage: string;
  at: string;
  hash: string;
}

/** One finding in the period and what became of it. */
export interface FindingRecord {
  /** The seq of its `finding` entry: the finding's id in the log. */
  seq: number;
  /** When the engine found it. */
  at: string;
  /** When the change was made (CloudTrail eventTime); absent for sweep findings and older logs. */
  eventTime?: string;
  eventId?: string;
  actor?: string;
  control: string;
  category: CategoryId | "unknown";
  sections: string[];
  resource: string;
  summary: string;
  /** The policy's decision: dry-run, approve, auto, exempt or suppressed. */
  mode?: string;
  outcome: FindingOutcome;
  /** When the outcome was logged. */
  outcomeAt: string;
  proposalId?: string;
  /** Who approved, rejected or exempted it: "name (id, via)". */
  decidedBy?: string;
  exemption?: { source: ExemptionRef["source"]; reason: string; owner: string; expires?: string };
  /** The reason or error logged with the outcome. */
  detail?: string;
  /** Event time (or detection time) to verified, in milliseconds. */
  timeToRemediateMs?: number;
  entries: EntryRef[];
}

/** Nearest-rank percentiles of the times to remediate, in milliseconds; absent when nothing was verified. */
export interface DurationStats {
  count: number;
  p50Ms?: number;
  p95Ms?: number;
  maxMs?: number;
}

export interface ControlMode {
  control: string;
  title: string;
  category: CategoryId;
  enabled: boolean;
  /** The mode a finding gets before overrides, the kill switch and the rate limit. */
  mode: Mode;
  /** Where `mode` comes from. */
  modeFrom: "policy" | "control default" | "policy default";
  /** The rules that may change the mode for some findings. */
  notes: string[];
}

export interface OpenProposal {
  id: string;
  control: string;
  resource: string;
  createdAt: string;
  expiresAt: string;
  ageMs: number;
  summary: string;
}

export interface ExpiringExemption extends ExemptionRef {
  /** Days left, rounded down. */
  daysLeft: number;
}

export interface SweepPosture {
  sweepId: string;
  at: string;
  seq: number;
  controls: { control: string; resourcesChecked: number; outOfCompliance: number; failures: number; complete: boolean }[];
}

export interface SectionReport extends HipaaSection {
  controls: ControlMode[];
  findings: number;
  outcomes: OutcomeCounts;
  timeToRemediate: DurationStats;
  openProposals: number;
  expiringExemptions: number;
  /** From the most recent sweep; absent when no sweep covered a control of this section. */
  posture?: { resourcesChecked: number; outOfCompliance: number; complete: boolean };
}

export interface ChainStatus {
  ok: boolean;
  /** Entries verified good. */
  checked: number;
  /** The last entry verified good. */
  verifiedHead?: ChainLink;
  firstBad?: BadEntry;
}

export interface ReportHeader {
  title: string;
  generatedAt: string;
  toolVersion: string;
  /** Where the log, proposals and exemptions were read from, e.g. `sqlite:.hipaa-remediate/engine.db`. */
  store: string;
  period: { since?: string; until?: string };
  chain: ChainStatus;
  /** The newest entry the report read: its figures cover the log up to here. */
  head?: ChainLink;
  /** Entries read, and those that could not be parsed at all (counted, never silently skipped). */
  entriesRead: number;
  unreadableEntries: number[];
  policy: { hash: string; source: string };
}

/** Findings per week (weeks start on Monday, UTC), by checklist area. */
export interface WeeklyFindings {
  weekStart: string;
  byArea: Partial<Record<CategoryId | "unknown", number>>;
}

export interface DurationBucket {
  label: string;
  /** Upper bound in ms (exclusive); absent for the last, open-ended bucket. */
  upToMs?: number;
  count: number;
}

export interface ComplianceReport {
  header: ReportHeader;
  totals: { findings: number; outcomes: OutcomeCounts; timeToRemediate: DurationStats };
  sections: SectionReport[];
  controls: ControlMode[];
  findings: FindingRecord[];
  openProposals: OpenProposal[];
  expiringExemptions: ExpiringExemption[];
  lastSweep?: SweepPosture;
  charts: { weekly: WeeklyFindings[]; timeToRemediate: DurationBucket[] };
}

export function emptyOutcomeCounts(): OutcomeCounts {
  return Object.fromEntries(FINDING_OUTCOMES.map((outcome) => [outcome, 0])) as OutcomeCounts;
}
