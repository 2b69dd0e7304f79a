import type { ProposalView } from "./proposal-view";

/** A proposal for the terminal: what changed, why it matters, the evidence, and exactly what the fix will do. */
export function formatProposal(view: ProposalView): string {
  const field = (label: string, value: string) => `${`${label}:`.padEnd(13)}${value}`;
  const lines = [
    `Proposal ${view.id}`,
    field("Status", view.status),
    field("Control", `${view.control.id} — ${view.control.title}${view.control.severity ? ` (severity ${view.control.severity})` : ""}`),
    field(
      "HIPAA",
      `${view.control.hipaa.sections.join(", ") || "(unknown)"}${view.control.hipaa.why ? ` — ${view.control.hipaa.why}` : ""}`,
    ),
    field("Resource", view.resource.arn),
    ...(view.change
      ? [field("Change", `${view.change.name} by ${view.change.actor} at ${view.change.time} (event ${view.change.eventId})`)]
      : [field("Change", "found by a sweep, not by an event")]),
    field("Finding", `${view.finding.summary}${view.finding.confirmed ? " (confirmed against live state)" : " (from the event only)"}`),
    "Evidence:",
    ...(view.evidence.length ? view.evidence.map((line) => `  ${line.field}: ${line.value}`) : ["  (none recorded)"]),
    field("Plan", view.plan.summary),
    ...view.plan.steps.map((step, index) => `  ${index + 1}. ${step}`),
    field("Reversible", view.plan.reversible ? "yes: rollback restores the state captured before the change" : "no"),
    field("Plan hash", view.planHash),
    field("Created", view.createdAt),
    field("Expires", view.expiresAt),
    ...(view.decidedBy
      ? [
          field(
            "Decided",
            `by ${view.decidedBy.name} (${view.decidedBy.id}, via ${view.decidedBy.via})${view.decidedAt ? ` at ${view.decidedAt}` : ""}`,
          ),
        ]
      : []),
  ];
  return `${lines.join("\n")}\n`;
}
