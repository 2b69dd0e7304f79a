import type { Writable } from "node:stream";
import type { FindingReport } from "@hipaa-remediate/core";
import { renderFindings, renderTable } from "../output/table";
import type { ReplaySink } from "./run-replay";
import type { ReplaySummary } from "./summary";

const MAX_LISTED_FINDINGS = 200;
const MAX_LISTED_REJECTIONS = 20;

/** The human view: findings, then rejected inputs, then the counts. */
export function tableSink(out: Writable): ReplaySink {
  const findings: FindingReport[] = [];
  const rejections: { source: string; reason: string }[] = [];
  let extraFindings = 0;
  let extraRejections = 0;
  return {
    finding(finding) {
      if (findings.length < MAX_LISTED_FINDINGS) findings.push(finding);
      else extraFindings += 1;
    },
    rejected(input) {
      if (rejections.length < MAX_LISTED_REJECTIONS) rejections.push(input);
      else extraRejections += 1;
    },
    ignored() {},
    summary(summary) {
      const parts: string[] = [];
      if (findings.length > 0) {
        parts.push(
          `Findings\n${renderFindings(findings)}${extraFindings ? `\n… and ${extraFindings} more (use --format jsonl for all)` : ""}`,
        );
      } else {
        parts.push("No findings.");
      }
      if (rejections.length > 0) {
        parts.push(
          `Rejected inputs\n${renderTable(
            ["Source", "Reason"],
            rejections.map((r) => [r.source, r.reason]),
            100,
          )}${extraRejections ? `\n… and ${extraRejections} more` : ""}`,
        );
      }
      parts.push(`Summary\n${renderSummary(summary)}`);
      if (summary.aborted)
        parts.push(`Run aborted: ${summary.abortReason ?? "unknown reason"}. The counts above cover what it did before it stopped.`);
      out.write(`${parts.join("\n\n")}\n`);
    },
  };
}

function renderSummary(s: ReplaySummary): string {
  const rows: [string, string][] = [
    ["records read", `${s.records} (${s.files} files, ${(s.bytes / 1e6).toFixed(2)} MB, ${s.durationMs} ms)`],
    ["changes", `${s.changes} (${s.matched} matched a control, ${s.unmatched} did not)`],
    ["ignored", String(s.ignored)],
    ["rejected", String(s.rejected)],
    ["findings", String(s.findings)],
    ...Object.entries(s.decisions)
      .filter(([, n]) => n > 0)
      .map(([mode, n]): [string, string] => [`  ${mode}`, String(n)]),
    ["no longer applies", String(s.noLongerApplies)],
    ["duplicates skipped", String(s.duplicates)],
    ["failures", String(s.failures)],
  ];
  return renderTable(["", ""], rows).split("\n").slice(2).join("\n");
}
