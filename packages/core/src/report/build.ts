import type { ExemptionStore } from "../approvals/exemption-store";
import type { AnyControl } from "../controls/contract";
import type { ChainLink } from "../log/chain";
import type { LogEntry } from "../log/entry";
import { CorruptLogEntryError } from "../log/errors";
import type { LogStore } from "../log/port";
import { verifyChain } from "../log/verify";
import type { ExemptionRef } from "../policy/decision";
import type { Policy } from "../policy/schema";
import type { ProposalStore } from "../proposals/proposal";
import { hashCanonical } from "../support/json";
import { controlModes } from "./control-modes";
import { durationHistogram, durationStats } from "./durations";
import { FindingLedger } from "./ledger";
import {
  emptyOutcomeCounts,
  type ChainStatus,
  type ComplianceReport,
  type ExpiringExemption,
  type FindingRecord,
  type OpenProposal,
  type SectionReport,
} from "./model";
import { hipaaSections } from "./sections";

/** What a report reads: the same stores the engine writes, local or deployed. */
export interface ReportSources {
  log: LogStore;
  proposals: Pick<ProposalStore, "listByStatus">;
  exemptions?: Pick<ExemptionStore, "list">;
  policy: Policy;
  controls: readonly AnyControl[];
}

export interface ReportOptions {
  now: Date;
  since?: Date;
  until?: Date;
  toolVersion: string;
  /** Where the stores are, for the header. */
  store: string;
  /** Where the policy came from (a file path, or "built-in default"). */
  policySource: string;
  /** A head recorded earlier, to catch deletion of the newest entries (see verifyChain). */
  expectedHead?: ChainLink;
  /** Exemptions that lapse within this many days are listed. Default 30. */
  expiringWithinDays?: number;
}

const DAY_MS = 86_400_000;
export const REPORT_TITLE = "HIPAA Security Rule remediation evidence";

/**
 * Builds the evidence report in one pass over the log: each entry read is both verified (the hash chain) and fed
 * to the ledger that follows findings to their outcome. Memory holds the findings of the period, never the log.
 * When verification stops at a bad entry, the rest of the log is still read for the figures, and an entry that
 * cannot be parsed at all is listed in the header rather than skipped in silence.
 */
export async function buildComplianceReport(sources: ReportSources, options: ReportOptions): Promise<ComplianceReport> {
  const controlsById = new Map(sources.controls.map((control) => [control.id, control]));
  const ledger = new FindingLedger({
    ...(options.since ? { since: options.since } : {}),
    ...(options.until ? { until: options.until } : {}),
    describeControl: (id) => {
      const control = controlsById.get(id);
      return control ? { category: control.category, sections: control.hipaa.sections } : undefined;
    },
  });
  const pass = await readOnce(sources.log, ledger, options.expectedHead);
  const [pending, granted] = await Promise.all([
    sources.proposals.listByStatus("pending"),
    sources.exemptions ? sources.exemptions.list() : Promise.resolve([]),
  ]);

  const now = options.now.getTime();
  const openProposals: OpenProposal[] = pending
    .map((p) => ({
      id: p.id,
      control: p.control,
      resource: p.finding.resource.arn,
      createdAt: p.createdAt,
      expiresAt: p.expiresAt,
      ageMs: Math.max(0, now - Date.parse(p.createdAt)),
      summary: p.finding.summary,
    }))
    .sort((a, b) => b.ageMs - a.ageMs);
  const expiringExemptions = expiring(
    [...sources.policy.exemptions.map((e) => ({ source: "policy" as const, ...e })), ...granted, ...seenInLog(ledger.findings)],
    options.now,
    options.expiringWithinDays ?? 30,
  );
  const modes = controlModes(sources.controls, sources.policy);
  const findings = ledger.findings;
  const remediated = (records: FindingRecord[]) => records.map((r) => r.timeToRemediateMs).filter((ms): ms is number => ms !== undefined);

  const sections: SectionReport[] = hipaaSections().map((section) => {
    const inSection = findings.filter((f) => f.sections.includes(section.id));
    const controls = modes.filter((m) => controlsById.get(m.control)?.hipaa.sections.includes(section.id));
    const controlIds = new Set(controls.map((c) => c.control));
    const sweep = ledger.lastSweep?.controls.filter((c) => controlIds.has(c.control)) ?? [];
    return {
      ...section,
      controls,
      findings: inSection.length,
      outcomes: countOutcomes(inSection),
      timeToRemediate: durationStats(remediated(inSection)),
      openProposals: openProposals.filter((p) => controlIds.has(p.control)).length,
      expiringExemptions: expiringExemptions.filter((e) => e.controls.some((c) => c === "*" || controlIds.has(c))).length,
      ...(sweep.length > 0
        ? {
            posture: {
              resourcesChecked: sweep.reduce((sum, c) => sum + c.resourcesChecked, 0),
              outOfCompliance: sweep.reduce((sum, c) => sum + c.outOfCompliance, 0),
              complete: sweep.every((c) => c.complete),
            },
          }
        : {}),
    };
  });

  const times = remediated(findings);
  return {
    header: {
      title: REPORT_TITLE,
      generatedAt: options.now.toISOString(),
      toolVersion: options.toolVersion,
      store: options.store,
      period: {
        ...(options.since ? { since: options.since.toISOString() } : {}),
        ...(options.until ? { until: options.until.toISOString() } : {}),
      },
      chain: pass.chain,
      ...(pass.head ? { head: pass.head } : {}),
      entriesRead: pass.entriesRead,
      unreadableEntries: pass.unreadable,
      policy: { hash: hashCanonical(sources.policy), source: options.policySource },
    },
    totals: { findings: findings.length, outcomes: countOutcomes(findings), timeToRemediate: durationStats(times) },
    sections,
    controls: modes,
    findings,
    openProposals,
    expiringExemptions,
    ...(ledger.lastSweep ? { lastSweep: ledger.lastSweep } : {}),
    charts: { weekly: ledger.weeklyFindings(), timeToRemediate: durationHistogram(times) },
  };
}

interface Pass {
  chain: ChainStatus;
  head?: ChainLink;
  entriesRead: number;
  unreadable: number[];
}

/**
 * One read of the log shared by verifyChain and the ledger. The verifier may stop early at a bad entry, so the
 * source iterator is wrapped to survive its `return()`; reading then carries on, past unparseable rows, to the end.
 */
async function readOnce(log: LogStore, ledger: FindingLedger, expectedHead: ChainLink | undefined): Promise<Pass> {
  const pass: Pass = { chain: { ok: false, checked: 0 }, entriesRead: 0, unreadable: [] };
  let source = log.read()[Symbol.asyncIterator]();
  let sourceDone = false;
  let corruptAt: number | undefined;
  const take = (entry: LogEntry) => {
    ledger.add(entry);
    pass.entriesRead += 1;
    pass.head = { seq: entry.seq, hash: entry.hash };
  };
  const shared: AsyncIterable<LogEntry> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        try {
          const result = await source.next();
          if (result.done) sourceDone = true;
          else take(result.value);
          return result;
        } catch (error) {
          if (error instanceof CorruptLogEntryError) corruptAt = error.seq;
          throw error;
        }
      },
      // verifyChain closes its reader when it stops; the report still needs the rest of the log.
      return: async () => ({ done: true, value: undefined }),
    }),
  };
  const verified = await verifyChain(shared, expectedHead ? { expectedHead } : {});
  pass.chain = {
    ok: verified.ok,
    checked: verified.checked,
    ...(verified.head ? { verifiedHead: verified.head } : {}),
    ...(verified.firstBad ? { firstBad: verified.firstBad } : {}),
  };

  while (!sourceDone) {
    if (corruptAt !== undefined) {
      // A generator that threw is finished: read on from the row after the one that could not be parsed.
      pass.unreadable.push(corruptAt);
      source = log.read({ fromSeq: corruptAt + 1 })[Symbol.asyncIterator]();
      corruptAt = undefined;
    }
    try {
      const result = await source.next();
      if (result.done) sourceDone = true;
      else take(result.value);
    } catch (error) {
      if (!(error instanceof CorruptLogEntryError)) throw error;
      corruptAt = error.seq;
    }
  }
  return pass;
}

function countOutcomes(records: readonly FindingRecord[]) {
  const counts = emptyOutcomeCounts();
  for (const record of records) counts[record.outcome] += 1;
  return counts;
}

/**
 * Exemptions from resource tags, as the log recorded them with findings: they live on the resources, in no store.
 * (The policy file's and the approvers' are read from the policy and the exemption store.)
 */
function seenInLog(findings: readonly FindingRecord[]): ExemptionRef[] {
  return findings.flatMap(({ exemption, resource, control }) =>
    exemption?.source === "tag" && exemption.expires
      ? [
          {
            source: "tag" as const,
            resource,
            controls: [control],
            reason: exemption.reason,
            owner: exemption.owner,
            expires: exemption.expires,
          },
        ]
      : [],
  );
}

function expiring(exemptions: readonly ExemptionRef[], now: Date, withinDays: number): ExpiringExemption[] {
  const seen = new Set<string>();
  const result: ExpiringExemption[] = [];
  for (const exemption of exemptions) {
    const expires = Date.parse(exemption.expires);
    const left = expires - now.getTime();
    if (!Number.isFinite(expires) || left <= 0 || left > withinDays * DAY_MS) continue;
    const key = [exemption.resource, [...exemption.controls].sort().join("+"), exemption.expires, exemption.reason].join("|");
    if (seen.has(key)) continue;
    seen.add(key);
    result.push({ ...exemption, daysLeft: Math.floor(left / DAY_MS) });
  }
  return result.sort((a, b) => a.expires.localeCompare(b.expires));
}
