import { inertLine } from "./terminal-text";

/** A plain-text table for terminals: columns sized to content, cells made inert, long cells cut with an ellipsis. */
export function renderTable(headers: string[], rows: string[][], maxCell = 60): string {
  const cut = (raw: string) => {
    const text = inertLine(raw);
    return text.length > maxCell ? `${text.slice(0, maxCell - 1)}…` : text;
  };
  const cells = rows.map((row) => row.map(cut));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "─".repeat(w))), ...cells.map(line)].join("\n");
}

/** The resource part of an ARN (`instance/i-0abc…`, a bucket name), for tables; account and region have columns of their own elsewhere. */
export function shortArn(arn: string): string {
  const parts = arn.split(":");
  return parts.length >= 6 ? parts.slice(5).join(":") : arn;
}

/** Findings as the replay and sweep tables show them. */
export function renderFindings(
  findings: readonly { control: string; resource: string; decision: string; outcome: string; summary: string }[],
): string {
  return renderTable(
    ["Control", "Resource", "Decision", "Outcome", "Summary"],
    findings.map((f) => [f.control, shortArn(f.resource), f.decision, f.outcome, f.summary]),
    80,
  );
}
