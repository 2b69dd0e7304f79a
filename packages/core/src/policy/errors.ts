import type { PolicyIssue } from "./issues";

/** `policy.yaml: overrides[0].mode: expected one of dry-run | approve | auto, got "autoo" (line 7, column 5)` */
export function renderPolicyIssue(source: string, issue: PolicyIssue): string {
  const path = issue.path === "" ? "" : `${issue.path}: `;
  const position = issue.line === undefined ? "" : ` (line ${issue.line}, column ${issue.column ?? 1})`;
  return `${source}: ${path}${issue.message}${position}`;
}

/** A policy that cannot be used. The message lists every problem found, not just the first. */
export class PolicyError extends Error {
  readonly source: string;
  readonly issues: PolicyIssue[];

  constructor(source: string, issues: PolicyIssue[], options?: { cause?: unknown }) {
    const lines = issues.map((issue) => renderPolicyIssue(source, issue));
    const message =
      lines.length === 1
        ? (lines[0] ?? "")
        : [`${source}: ${lines.length} problems in the policy`, ...lines.map((line) => `  ${line}`)].join("\n");
    super(message, options);
    this.name = "PolicyError";
    this.source = source;
    this.issues = issues;
  }
}
