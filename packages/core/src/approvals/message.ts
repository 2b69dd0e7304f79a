import type { ContextBlock, KnownBlock, ModalView, SectionBlock } from "@slack/web-api";
import type { Decider } from "../log/entry";
import { UNLOGGABLE_KEYS } from "../log/redact";
import type { Proposal } from "../proposals/proposal";
import type { ExecutionOutcome } from "../runner/outcome";
import type { JsonValue } from "../support/json";
import { encodeButtonValue, encodeModalMetadata, type MessageRef } from "./action-value";

/** What a message needs to know about a control. Every registered control satisfies it. */
export interface ControlSummary {
  id: string;
  title: string;
  hipaa: { sections: readonly string[]; why: string };
}

/** Finds a control's metadata by id; undefined when the control is no longer registered. */
export type DescribeControl = (controlId: string) => ControlSummary | undefined;

export const APPROVAL_ACTION_IDS = {
  approve: "proposal-approve",
  reject: "proposal-reject",
  exempt: "proposal-exempt",
} as const;
export type ApprovalButton = keyof typeof APPROVAL_ACTION_IDS;

export const EXEMPTION_MODAL = {
  callbackId: "proposal-exemption",
  reasonBlockId: "exemption-reason",
  reasonActionId: "reason",
  minReasonLength: 10,
  maxReasonLength: 500,
} as const;

/** How long an exemption granted from an approval message lasts. */
export const EXEMPTION_DAYS = 30;
/** The longest exemption an approver may grant outside the policy file; longer ones belong in the reviewed policy. */
export const MAX_EXEMPTION_DAYS = 365;

/** How a proposal ended, as shown in its updated message. */
export type ProposalOutcome =
  | { kind: "approved"; by: Decider }
  | { kind: "executed"; by: Decider; execution: ExecutionOutcome }
  | { kind: "rejected"; by: Decider }
  | { kind: "exempted"; by: Decider; reason: string; expires: string }
  | { kind: "expired" };

export interface ProposalMessage {
  channel: string;
  text: string;
  blocks: KnownBlock[];
  unfurl_links: false;
  unfurl_media: false;
}

export interface OutcomeUpdate {
  channel: string;
  ts: string;
  text: string;
  blocks: KnownBlock[];
}

export interface ReminderMessage {
  channel: string;
  thread_ts: string;
  text: string;
}

// Block Kit limits: header text 150 characters, section text 3000, button confirm text 300.
const HEADER_LIMIT = 150;
const SECTION_LIMIT = 2900;
const CONFIRM_TEXT_LIMIT = 300;
const EVIDENCE_VALUE_LIMIT = 120;
const EVIDENCE_LINE_LIMIT = 12;

const withheldKeys = new Set(UNLOGGABLE_KEYS.map(normaliseKey));

/** The approval request: what changed, who changed it, why it matters, exactly what the fix does, and the buttons. */
export function buildProposalMessage(proposal: Proposal, control: ControlSummary | undefined, channel: string): ProposalMessage {
  const summary = controlOrFallback(proposal, control);
  return {
    channel,
    text: `HIPAA fix awaiting approval: ${summary.title} on ${proposal.finding.resource.arn}`,
    blocks: [...describeProposal(proposal, summary), actionButtons(proposal)],
    unfurl_links: false,
    unfurl_media: false,
  };
}

/** Replaces the buttons with the outcome, keeping the description so the channel history stays readable. */
export function buildOutcomeUpdate(
  proposal: Proposal,
  control: ControlSummary | undefined,
  outcome: ProposalOutcome,
  message: MessageRef,
): OutcomeUpdate {
  const line = outcomeLine(outcome, proposal);
  return {
    channel: message.channel,
    ts: message.ts,
    text: line,
    blocks: [...describeProposal(proposal, controlOrFallback(proposal, control)), section(line)],
  };
}

/** The one reminder, posted in the proposal's thread. */
export function buildReminder(proposal: Proposal, message: MessageRef): ReminderMessage {
  return {
    channel: message.channel,
    thread_ts: message.ts,
    text: `Reminder: this fix for ${proposal.finding.resource.arn} is still waiting for a decision. It expires ${slackDate(proposal.expiresAt)}.`,
  };
}

/** The modal the Exempt button opens; its metadata carries only the proposal id, plan hash and message. */
export function buildExemptionModal(proposal: Proposal, control: ControlSummary | undefined, message: MessageRef | undefined): ModalView {
  const summary = controlOrFallback(proposal, control);
  return {
    type: "modal",
    callback_id: EXEMPTION_MODAL.callbackId,
    private_metadata: encodeModalMetadata({ p: proposal.id, h: proposal.planHash, ...(message ? { m: message } : {}) }),
    title: { type: "plain_text", text: `Exempt for ${EXEMPTION_DAYS} days` },
    submit: { type: "plain_text", text: "Exempt" },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [
      section(
        `Exempt \`${escapeMrkdwn(proposal.finding.resource.arn)}\` from *${escapeMrkdwn(summary.title)}* for ${EXEMPTION_DAYS} days. ` +
          "The exemption is recorded in the remediation log with your name and this reason.",
      ),
      {
        type: "input",
        block_id: EXEMPTION_MODAL.reasonBlockId,
        label: { type: "plain_text", text: "Reason" },
        element: {
          type: "plain_text_input",
          action_id: EXEMPTION_MODAL.reasonActionId,
          multiline: true,
          min_length: EXEMPTION_MODAL.minReasonLength,
          max_length: EXEMPTION_MODAL.maxReasonLength,
        },
      },
    ],
  };
}

/** Slack's date token renders in the reader's time zone; the text after `|` is the fallback. */
export function slackDate(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  if (!Number.isFinite(seconds)) return escapeMrkdwn(iso);
  return `<!date^${seconds}^{date_short_pretty} at {time}|${iso}>`;
}

/** Slack mrkdwn treats `&`, `<` and `>` as control characters; everything else is literal. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function describeProposal(proposal: Proposal, control: ControlSummary): KnownBlock[] {
  const { finding, plan } = proposal;
  const resource = finding.resource;
  const hipaa = control.hipaa.sections.length ? control.hipaa.sections.join(", ") : "not recorded";
  const why = control.hipaa.why ? `: ${escapeMrkdwn(firstLine(control.hipaa.why))}` : "";
  const changedBy = finding.event
    ? `\`${escapeMrkdwn(finding.event.actor)}\` (${escapeMrkdwn(finding.event.name)}) at ${slackDate(finding.event.time)}`
    : "Found by the scheduled sweep";
  return [
    { type: "header", text: { type: "plain_text", text: truncate(`HIPAA fix awaiting approval: ${control.title}`, HEADER_LIMIT) } },
    section(`*${escapeMrkdwn(control.title)}* (\`${escapeMrkdwn(control.id)}\`)\n*HIPAA ${escapeMrkdwn(hipaa)}*${why}`),
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: `*Account*\n${escapeMrkdwn(resource.account)}` },
        { type: "mrkdwn", text: `*Region*\n${escapeMrkdwn(resource.region)}` },
        { type: "mrkdwn", text: `*Resource*\n\`${escapeMrkdwn(resource.arn)}\`` },
        { type: "mrkdwn", text: `*Changed by*\n${changedBy}` },
      ],
    },
    section(`*What was found*\n${escapeMrkdwn(finding.summary)}`),
    section(`*Evidence*\n${evidenceLines(finding.evidence)}`),
    section(`*The fix will*\n${plan.steps.map((step, i) => `${i + 1}. ${escapeMrkdwn(step)}`).join("\n") || escapeMrkdwn(plan.summary)}`),
    context([
      plan.reversible ? "Can be rolled back: the state before the change is recorded." : "*Cannot be rolled back* automatically.",
      `Expires ${slackDate(proposal.expiresAt)}.`,
      `Proposal \`${escapeMrkdwn(proposal.id)}\`, plan \`${proposal.planHash.slice(0, 12)}\``,
    ]),
  ];
}

function actionButtons(proposal: Proposal): KnownBlock {
  const value = encodeButtonValue({ p: proposal.id, h: proposal.planHash });
  return {
    type: "actions",
    block_id: "proposal-actions",
    elements: [
      {
        type: "button",
        action_id: APPROVAL_ACTION_IDS.approve,
        text: { type: "plain_text", text: "Approve" },
        style: "primary",
        value,
        confirm: {
          title: { type: "plain_text", text: "Apply this fix?" },
          text: { type: "plain_text", text: truncate(proposal.plan.summary, CONFIRM_TEXT_LIMIT) },
          confirm: { type: "plain_text", text: "Apply" },
          deny: { type: "plain_text", text: "Cancel" },
        },
      },
      {
        type: "button",
        action_id: APPROVAL_ACTION_IDS.reject,
        text: { type: "plain_text", text: "Reject" },
        style: "danger",
        value,
      },
      {
        type: "button",
        action_id: APPROVAL_ACTION_IDS.exempt,
        text: { type: "plain_text", text: `Exempt for ${EXEMPTION_DAYS} days` },
        value,
      },
    ],
  };
}

function outcomeLine(outcome: ProposalOutcome, proposal: Proposal): string {
  switch (outcome.kind) {
    case "approved":
      return `:hourglass_flowing_sand: Approved by ${who(outcome.by)}; applying the fix now.`;
    case "executed":
      return executedLine(outcome.by, outcome.execution);
    case "rejected":
      return `:no_entry_sign: Rejected by ${who(outcome.by)}. Nothing was changed.`;
    case "exempted":
      return (
        `:shield: Exempted by ${who(outcome.by)} until ${slackDate(outcome.expires)}. ` +
        `Reason: ${escapeMrkdwn(truncate(outcome.reason, EXEMPTION_MODAL.maxReasonLength))}`
      );
    case "expired":
      return `:hourglass: Expired ${slackDate(proposal.expiresAt)} without a decision. Nothing was changed.`;
  }
}

function executedLine(by: Decider, execution: ExecutionOutcome): string {
  switch (execution.status) {
    case "verified":
      return `:white_check_mark: Approved by ${who(by)}. The fix was applied and verified.`;
    case "no-longer-applies":
      return `:information_source: Approved by ${who(by)}, but the fix no longer applies: ${escapeMrkdwn(execution.reason)}. Nothing was changed.`;
    case "failed":
      return (
        `:x: Approved by ${who(by)}, but the fix failed at the ${execution.stage} step: ` +
        `${escapeMrkdwn(execution.error.name)}: ${escapeMrkdwn(truncate(execution.error.message, 300))}`
      );
  }
}

function who(person: Decider): string {
  return `*${escapeMrkdwn(person.name || person.id)}*`;
}

/**
 * `key: value` lines, nested objects flattened to dotted keys. Values are cut short and keys that name secrets or
 * object contents are withheld, so the message never carries more than configuration.
 */
function evidenceLines(evidence: Proposal["finding"]["evidence"]): string {
  const lines: string[] = [];
  const visit = (value: JsonValue, path: string) => {
    const key = path.split(".").at(-1) ?? path;
    if (withheldKeys.has(normaliseKey(key))) {
      lines.push(`• ${escapeMrkdwn(path)}: (withheld)`);
    } else if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
      for (const [child, childValue] of Object.entries(value)) visit(childValue, `${path}.${child}`);
    } else {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      lines.push(`• ${escapeMrkdwn(path)}: ${escapeMrkdwn(truncate(text, EVIDENCE_VALUE_LIMIT))}`);
    }
  };
  for (const [key, value] of Object.entries(evidence)) visit(value, key);
  if (lines.length === 0) return "(none recorded)";
  const shown = lines.slice(0, EVIDENCE_LINE_LIMIT);
  if (lines.length > shown.length) shown.push(`… and ${lines.length - shown.length} more`);
  return truncate(shown.join("\n"), SECTION_LIMIT - 20);
}

function controlOrFallback(proposal: Proposal, control: ControlSummary | undefined): ControlSummary {
  return control ?? { id: proposal.control, title: proposal.control, hipaa: { sections: [], why: "" } };
}

function section(text: string): SectionBlock {
  return { type: "section", text: { type: "mrkdwn", text: truncate(text, SECTION_LIMIT) } };
}

function context(lines: string[]): ContextBlock {
  return { type: "context", elements: lines.map((text) => ({ type: "mrkdwn", text })) };
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? "";
}

/** Cuts on a code point boundary so a truncated value never ends in half a surrogate pair. */
function truncate(text: string, limit: number): string {
  const chars = Array.from(text);
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join("")}…`;
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}
