import { formatDuration } from "../durations";
import {
  FINDING_OUTCOMES,
  type ComplianceReport,
  type DurationStats,
  type FindingOutcome,
  type FindingRecord,
  type OutcomeCounts,
  type SectionReport,
} from "../model";
import { escapeHtml as e } from "./escape";
import { OUTCOME_TEXT } from "./outcome-text";
import { REPORT_STYLE } from "./html-style";
import { areaTitle, timeToRemediateChart, weeklyFindingsChart } from "./svg-charts";

export interface HtmlReportOptions {
  /**
   * Where the stylesheet goes: `inline` (the default) makes one self-contained file; a URL links it instead, for a
   * page whose content security policy refuses inline styles (the auditor view).
   */
  stylesheet?: "inline" | { href: string };
}

const OPEN: FindingOutcome[] = ["proposed", "approved", "applied", "would-remediate", "detected"];
const CLOSED_OTHERWISE: FindingOutcome[] = ["rejected", "expired", "no-longer-applies", "suppressed", "rolled-back"];

/** The report as one HTML document: no script, no external fetch, charts as inline SVG, print CSS for PDF. */
export function renderReportHtml(report: ComplianceReport, options: HtmlReportOptions = {}): string {
  const { header } = report;
  const style =
    options.stylesheet === undefined || options.stylesheet === "inline"
      ? `<style>${REPORT_STYLE}</style>`
      : `<link rel="stylesheet" href="${e(options.stylesheet.href)}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(header.title)} — ${e(header.generatedAt.slice(0, 10))}</title>
${style}
</head>
<body>
<main>
${headerSection(report)}
${integritySection(report)}
${glanceSection(report)}
${chartsSection(report)}
${sectionsOverview(report)}
${sectionDetails(report)}
${openProposalsSection(report)}
${exemptionsSection(report)}
${sweepSection(report)}
${findingsSection(report.findings)}
${glossarySection(report)}
</main>
</body>
</html>
`;
}

function headerSection({ header }: ComplianceReport): string {
  return `<header>
<h1>${e(header.title)}</h1>
<p class="lede">Evidence of how the technical safeguards of the HIPAA Security Rule (45 CFR Part 164, Subpart C) were
enforced in the AWS account${header.period.since || header.period.until ? ` ${e(periodText(header.period))}` : ", over the whole log"}.
Every figure comes from <strong>hipaa-remediate</strong>'s remediation log, in which each entry carries the SHA-256 hash
of the entry before it, so that editing, deleting or reordering any entry is detectable. The report is organised by the
HIPAA section each safeguard implements; the last pages explain each term.</p>
<dl class="facts">
<dt>Generated</dt><dd>${e(header.generatedAt)} by hipaa-remediate ${e(header.toolVersion)} (all times are UTC)</dd>
<dt>Period</dt><dd>${e(periodText(header.period))} (findings counted by when they were detected; their outcomes as of generation)</dd>
<dt>Source</dt><dd><code>${e(header.store)}</code></dd>
<dt>Policy</dt><dd>${e(header.policy.source)}; SHA-256 of the validated policy <code>${e(header.policy.hash)}</code></dd>
</dl>
</header>`;
}

function integritySection({ header }: ComplianceReport): string {
  const { chain, head } = header;
  const status = chain.ok
    ? `<p class="status ok"><strong>Log verified.</strong> All ${chain.checked} entries are intact and correctly chained.</p>`
    : `<p class="status bad"><strong>Log TAMPERED.</strong> ${chain.firstBad ? `Entry ${chain.firstBad.seq} is ${e(chain.firstBad.problem)}: ${e(chain.firstBad.detail)}.` : "Verification failed."} ${chain.checked} entries before it verified. Figures below still include every readable entry, but cannot be relied on past entry ${chain.verifiedHead?.seq ?? 0}.</p>`;
  const unreadable = header.unreadableEntries.length
    ? `<p class="status bad">Entries that could not be read at all (stored rows that are not log entries): ${header.unreadableEntries.map((s) => e(s)).join(", ")}.</p>`
    : "";
  return `<section aria-labelledby="integrity">
<h2 id="integrity">Integrity of this evidence</h2>
${status}${unreadable}
<dl class="facts">
<dt>Head covered</dt><dd>${head ? `entry ${head.seq}, hash <code>${e(head.hash)}</code>` : "the log is empty"}</dd>
<dt>Entries read</dt><dd>${header.entriesRead}</dd>
</dl>
<p class="note">To check later that nothing in this log was changed or removed, run
<code>hipaa-remediate log verify --expect-head ${head ? `${head.seq}:${e(head.hash)}` : "&lt;seq:hash&gt;"}</code>.</p>
</section>`;
}

function glanceSection(report: ComplianceReport): string {
  const { totals } = report;
  const tiles: [string, string | number, string][] = [
    ["Findings in the period", totals.findings, "violations detected"],
    ["Fixed and verified", totals.outcomes.verified, "applied and read back"],
    ["Open", sum(totals.outcomes, OPEN), "awaiting a decision, dry-run only, or no action"],
    ["Exempted", totals.outcomes.exempted, "with reason, owner and expiry"],
    ["Failed", totals.outcomes.failed, "see the error in the log"],
    [
      "Time to remediate (median)",
      formatDuration(totals.timeToRemediate.p50Ms),
      `p95 ${formatDuration(totals.timeToRemediate.p95Ms)}, max ${formatDuration(totals.timeToRemediate.maxMs)}`,
    ],
    ["Open proposals", report.openProposals.length, "waiting for an approver now"],
    ["Exemptions expiring", report.expiringExemptions.length, "within 30 days"],
  ];
  return `<section aria-labelledby="glance">
<h2 id="glance">At a glance</h2>
<ul class="tiles">${tiles.map(([label, value, note]) => `<li><span class="value">${e(value)}</span><span class="label">${e(label)}</span><span class="note">${e(note)}</span></li>`).join("")}</ul>
</section>`;
}

function chartsSection(report: ComplianceReport): string {
  return `<section aria-labelledby="charts" class="charts">
<h2 id="charts">Trends</h2>
<h3>Findings per week, by checklist area</h3>
${weeklyFindingsChart(report.charts.weekly)}
<h3>Time to remediate</h3>
<p class="note">From the change (the CloudTrail event time; the detection time for sweep findings) to the verified fix.</p>
${timeToRemediateChart(report.charts.timeToRemediate)}
</section>`;
}

function sectionsOverview(report: ComplianceReport): string {
  const rows = report.sections.map(
    (s) => `<tr>
<th scope="row"><a href="#s-${anchor(s.id)}">${e(s.id)}</a><br><span class="muted">${e(s.name)}</span></th>
<td>${s.controls.length ? s.controls.map((c) => `<code>${e(c.control)}</code>`).join("<br>") : `<span class="gap">none yet</span>`}</td>
<td class="num">${s.findings}</td>
<td class="num">${s.outcomes.verified}</td>
<td class="num">${sum(s.outcomes, OPEN)}</td>
<td class="num">${s.outcomes.exempted}</td>
<td class="num">${s.outcomes.failed}</td>
<td class="num">${sum(s.outcomes, CLOSED_OTHERWISE)}</td>
<td>${durationCell(s.timeToRemediate)}</td>
<td>${s.posture ? `${s.posture.outOfCompliance} of ${s.posture.resourcesChecked}${s.posture.complete ? "" : " (incomplete)"}` : `<span class="muted">no sweep</span>`}</td>
</tr>`,
  );
  return `<section aria-labelledby="overview" class="wide">
<h2 id="overview">HIPAA sections</h2>
<p class="note">Each section cited by the ten checklist areas, with the controls that enforce it. A finding counts under every
section its control cites. "Found" is findings in the period, "Fixed" fixed and verified, "Exempt" exempted. "Open" is proposed, approved, applied without verification, dry-run only, or no action;
"Other" is rejected, expired, no longer applies, control disabled, or rolled back. The last column is the most recent
full-account sweep: resources out of compliance, of those checked.</p>
<table class="overview">
<colgroup><col class="c-section"><col class="c-controls"><col span="6" class="c-num"><col class="c-ttr"><col class="c-sweep"></colgroup>
<thead><tr><th scope="col">Section</th><th scope="col">Controls</th><th scope="col" class="num">Found</th><th scope="col" class="num">Fixed</th><th scope="col" class="num">Open</th><th scope="col" class="num">Exempt</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Other</th><th scope="col">Time to remediate</th><th scope="col">Last sweep</th></tr></thead>
<tbody>${rows.join("")}</tbody>
</table>
</section>`;
}

function sectionDetails(report: ComplianceReport): string {
  return `<section aria-labelledby="details">
<h2 id="details">Section by section</h2>
${report.sections.map(sectionCard).join("\n")}
</section>`;
}

function sectionCard(s: SectionReport): string {
  const controls = s.controls.length
    ? `<ul>${s.controls
        .map(
          (c) =>
            `<li><code>${e(c.control)}</code> — ${e(c.title)}: <strong>${c.enabled ? e(c.mode) : "disabled"}</strong> <span class="muted">(${e(c.modeFrom)})</span>${c.notes.length ? `<br><span class="muted">${c.notes.map((n) => e(n)).join("; ")}</span>` : ""}</li>`,
        )
        .join("")}</ul>`
    : `<p class="gap">No control in the catalog enforces this section yet: it is not covered by automatic remediation.</p>`;
  const outcomes = FINDING_OUTCOMES.filter((o) => s.outcomes[o] > 0);
  return `<article class="section-card" id="s-${anchor(s.id)}" aria-labelledby="h-${anchor(s.id)}">
<h3 id="h-${anchor(s.id)}">${e(s.id)} ${e(s.name)}</h3>
<p class="muted">Checklist area${s.areas.length > 1 ? "s" : ""}: ${s.areas.map((a) => e(a.title)).join(", ")}</p>
<h4>Controls and their modes under the current policy</h4>
${controls}
<h4>Findings in the period: ${s.findings}</h4>
${outcomes.length ? `<ul class="outcomes">${outcomes.map((o) => `<li>${e(OUTCOME_TEXT[o].label)}: <strong>${s.outcomes[o]}</strong></li>`).join("")}</ul>` : `<p class="muted">None.</p>`}
<dl class="facts">
<dt>Time to remediate</dt><dd>${durationText(s.timeToRemediate)}</dd>
<dt>Open proposals</dt><dd>${s.openProposals}</dd>
<dt>Exemptions expiring within 30 days</dt><dd>${s.expiringExemptions}</dd>
<dt>Last sweep</dt><dd>${s.posture ? `${s.posture.resourcesChecked} resources checked, ${s.posture.outOfCompliance} out of compliance${s.posture.complete ? "" : " (a listing failed: incomplete)"}` : "no sweep covered these controls"}</dd>
</dl>
</article>`;
}

function openProposalsSection(report: ComplianceReport): string {
  const rows = report.openProposals.map(
    (p) =>
      `<tr><td><code>${e(p.control)}</code></td><td class="arn">${e(p.resource)}</td><td>${e(p.summary)}</td><td>${when(p.createdAt)}</td><td>${e(formatDuration(p.ageMs))}</td><td>${when(p.expiresAt)}</td></tr>`,
  );
  return `<section aria-labelledby="open-proposals">
<h2 id="open-proposals">Open proposals</h2>
${rows.length ? `<table><thead><tr><th scope="col">Control</th><th scope="col">Resource</th><th scope="col">Finding</th><th scope="col">Proposed</th><th scope="col">Age</th><th scope="col">Expires</th></tr></thead><tbody>${rows.join("")}</tbody></table>` : `<p class="empty">No proposal is waiting for a decision.</p>`}
</section>`;
}

function exemptionsSection(report: ComplianceReport): string {
  const rows = report.expiringExemptions.map(
    (x) =>
      `<tr><td class="arn">${e(x.resource)}</td><td>${x.controls.map((c) => `<code>${e(c)}</code>`).join(" ")}</td><td>${e(x.reason)}</td><td>${e(x.owner)}</td><td>${when(x.expires)}</td><td class="num">${x.daysLeft}</td><td>${e(x.source)}</td></tr>`,
  );
  return `<section aria-labelledby="expiring">
<h2 id="expiring">Exemptions expiring within 30 days</h2>
${rows.length ? `<table><thead><tr><th scope="col">Resource</th><th scope="col">Controls</th><th scope="col">Reason</th><th scope="col">Owner</th><th scope="col">Expires</th><th scope="col">Days left</th><th scope="col">Granted in</th></tr></thead><tbody>${rows.join("")}</tbody></table>` : `<p class="empty">No exemption expires within 30 days.</p>`}
</section>`;
}

function sweepSection(report: ComplianceReport): string {
  const sweep = report.lastSweep;
  if (!sweep) {
    return `<section aria-labelledby="sweep"><h2 id="sweep">Posture from the latest sweep</h2>
<p class="empty">The log holds no completed sweep. Run <code>hipaa-remediate sweep</code> (or wait for the scheduled one when deployed) to measure how many resources comply.</p></section>`;
  }
  const rows = sweep.controls.map(
    (c) =>
      `<tr><td><code>${e(c.control)}</code></td><td class="num">${c.resourcesChecked}</td><td class="num">${c.outOfCompliance}</td><td class="num">${c.failures}</td><td>${c.complete ? "complete" : "incomplete: listing failed"}</td></tr>`,
  );
  return `<section aria-labelledby="sweep">
<h2 id="sweep">Posture from the latest sweep</h2>
<p>Sweep <code>${e(sweep.sweepId)}</code>, completed ${e(sweep.at)} (log entry ${sweep.seq}).</p>
<table><thead><tr><th scope="col">Control</th><th scope="col">Resources checked</th><th scope="col">Out of compliance</th><th scope="col">Failures</th><th scope="col">Coverage</th></tr></thead><tbody>${rows.join("")}</tbody></table>
</section>`;
}

function findingsSection(findings: readonly FindingRecord[]): string {
  const rows = findings.map(
    (f) => `<tr>
<td class="num">${f.seq}</td>
<td>${when(f.at)}${f.eventTime ? `<br><span class="muted">change ${when(f.eventTime)}</span>` : ""}</td>
<td><code>${e(f.control)}</code><br><span class="muted">${e(f.sections.join(", "))}</span></td>
<td class="arn">${e(f.resource)}${f.actor ? `<br><span class="muted">by ${e(f.actor)}</span>` : ""}</td>
<td><strong>${e(OUTCOME_TEXT[f.outcome].label)}</strong><br><span class="muted">${when(f.outcomeAt)}</span>${outcomeDetail(f)}</td>
<td>${f.timeToRemediateMs === undefined ? "" : e(formatDuration(f.timeToRemediateMs))}</td>
<td class="seqs">${f.entries.map((x) => x.seq).join(" ")}</td>
</tr>`,
  );
  return `<section aria-labelledby="findings" class="wide">
<h2 id="findings">Findings in the period</h2>
${
  rows.length
    ? `<p class="note">One row per finding, oldest first. "Entries" are the log entries behind the row (see <code>hipaa-remediate log show</code> or the auditor view).</p>
<table class="findings">
<colgroup><col class="c-seq"><col class="c-time"><col class="c-control"><col class="c-resource"><col class="c-outcome"><col class="c-ttr"><col class="c-entries"></colgroup>
<thead><tr><th scope="col">Seq</th><th scope="col">Detected</th><th scope="col">Control</th><th scope="col">Resource</th><th scope="col">Outcome</th><th scope="col">Time to remediate</th><th scope="col">Entries</th></tr></thead>
<tbody>${rows.join("")}</tbody></table>`
    : `<p class="empty">No findings were detected in this period.</p>`
}
</section>`;
}

function outcomeDetail(f: FindingRecord): string {
  const parts: string[] = [];
  if (f.decidedBy) parts.push(`by ${f.decidedBy}`);
  if (f.exemption)
    parts.push(`${f.exemption.reason} (owner ${f.exemption.owner}${f.exemption.expires ? `, until ${f.exemption.expires}` : ""})`);
  else if (f.detail) parts.push(f.detail);
  return parts.length ? `<br>${e(parts.join("; "))}` : "";
}

function glossarySection(report: ComplianceReport): string {
  return `<section aria-labelledby="glossary">
<h2 id="glossary">How to read this report</h2>
<p>A <strong>control</strong> is one automated safeguard (for example "S3 bucket default encryption"). It watches changes in
the account, and when a change breaks it records a <strong>finding</strong>. The <strong>policy</strong> decides, per finding,
whether to fix it at once (<em>auto</em>), ask a person (<em>approve</em>), or only report it (<em>dry-run</em>).
Each finding ends in one of these outcomes:</p>
<dl class="glossary">${FINDING_OUTCOMES.map((o) => `<dt>${e(OUTCOME_TEXT[o].label)}</dt><dd>${e(OUTCOME_TEXT[o].meaning)}</dd>`).join("")}</dl>
<p><strong>Time to remediate</strong> runs from the change that broke the safeguard to the verified fix; p50 is the median,
p95 the time within which 95% of fixes were verified (nearest rank: a time actually measured), and max the longest.
<strong>Checklist areas</strong>: ${report.sections
    .flatMap((s) => s.areas)
    .filter((a, i, all) => all.findIndex((b) => b.id === a.id) === i)
    .map((a) => e(areaTitle(a.id)))
    .join(", ")}.</p>
<p>The same figures, and the entries behind them, are available as CSV and JSON:
<code>hipaa-remediate report --format csv</code> or <code>--format json</code>.</p>
</section>`;
}

/** An ISO time as `2026-11-30 12:00:05`, date and time each kept on one line (the header says times are UTC). */
function when(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  if (!match) return e(iso);
  return `<time datetime="${e(iso)}"><span class="nowrap">${match[1]}</span> <span class="nowrap">${match[2]}</span></time>`;
}

function durationCell(stats: DurationStats): string {
  if (stats.count === 0) return `<span class="muted">–</span>`;
  const line = (label: string, ms: number | undefined) => `<span class="nowrap">${label} ${e(formatDuration(ms))}</span>`;
  return [line("p50", stats.p50Ms), line("p95", stats.p95Ms), line("max", stats.maxMs)].join("<br>");
}

function durationText(stats: DurationStats): string {
  if (stats.count === 0) return "no fix verified in the period";
  return `${stats.count} verified: p50 ${e(formatDuration(stats.p50Ms))}, p95 ${e(formatDuration(stats.p95Ms))}, max ${e(formatDuration(stats.maxMs))}`;
}

function periodText(period: { since?: string; until?: string }): string {
  if (period.since && period.until) return `from ${period.since} to ${period.until}`;
  if (period.since) return `from ${period.since}`;
  if (period.until) return `until ${period.until}`;
  return "the whole log";
}

function sum(counts: OutcomeCounts, outcomes: readonly FindingOutcome[]): number {
  return outcomes.reduce((total, o) => total + counts[o], 0);
}

function anchor(sectionId: string): string {
  return sectionId.replace(/[^0-9a-zA-Z]+/g, "-").replace(/-$/, "");
}
