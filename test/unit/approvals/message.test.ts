import { describe, expect, it } from "vitest";
import {
  APPROVAL_ACTION_IDS,
  EXEMPTION_MODAL,
  buildExemptionModal,
  buildOutcomeUpdate,
  buildProposalMessage,
  buildReminder,
  type Decider,
  type Proposal,
} from "@hipaa-remediate/core";
import type { KnownBlock } from "@slack/web-api";
import { CONTROL, sampleProposal } from "../../integration/approvals/fixtures";

const T0 = new Date("2025-03-01T12:00:00Z");
const dana: Decider = { id: "U0DANA", name: "dana", via: "slack" };

/** Every piece of text a reader sees in the blocks, in order. */
function visibleText(blocks: KnownBlock[]): string {
  const texts: string[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === "object" && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        if (key === "text" && typeof child === "string") texts.push(child);
        else visit(child);
      }
    }
  };
  visit(blocks);
  return texts.join("\n");
}

function buttons(blocks: KnownBlock[]) {
  const actions = blocks.find((block) => block.type === "actions");
  if (!actions || actions.type !== "actions") throw new Error("no actions block");
  return actions.elements.map((element) => {
    if (element.type !== "button") throw new Error(`unexpected ${element.type}`);
    return element;
  });
}

describe("proposal message", () => {
  const proposal = sampleProposal("phi-claims", T0);
  const message = buildProposalMessage(proposal, CONTROL, "C0APPROVALS");
  const text = visibleText(message.blocks);

  it("says what changed, who changed it, why it matters and what the fix does", () => {
    expect(message.channel).toBe("C0APPROVALS");
    expect(message.text).toContain("arn:aws:s3:::phi-claims");
    expect(text).toContain("S3 bucket default encryption");
    expect(text).toContain("`s3-bucket-default-encryption`");
    expect(text).toContain("164.312(a)(2)(iv), 164.312(c)(1)");
    expect(text).toContain("PHI at rest must be encrypted");
    expect(text).toContain("*Account*\n123456789012");
    expect(text).toContain("*Region*\nus-east-1");
    expect(text).toContain("`arn:aws:s3:::phi-claims`");
    expect(text).toContain("`arn:aws:iam::123456789012:user/alice` (DeleteBucketEncryption)");
    expect(text).toContain(`<!date^${Math.floor((T0.getTime() - 60_000) / 1000)}^`);
    expect(text).toContain("Bucket phi-claims has no default encryption");
    expect(text).toContain("• bucket: phi-claims");
    expect(text).toContain("• ServerSideEncryptionConfiguration: null");
    expect(text).toContain("• tags.DataClassification: phi");
    expect(text).toContain("1. Set the default encryption of bucket phi-claims to SSE-S3 (AES-256)");
    expect(text).toContain("Can be rolled back");
    expect(text).toContain(`Expires <!date^${Math.floor(Date.parse(proposal.expiresAt) / 1000)}^`);
    expect(text).toContain(proposal.expiresAt);
  });

  it("offers Approve with a confirmation, Reject and a 30-day exemption, carrying only the id and plan hash", () => {
    const [approve, reject, exempt] = buttons(message.blocks);
    expect(approve).toMatchObject({ action_id: APPROVAL_ACTION_IDS.approve, style: "primary" });
    expect(approve?.confirm?.text.text).toBe(proposal.plan.summary);
    expect(reject).toMatchObject({ action_id: APPROVAL_ACTION_IDS.reject, style: "danger" });
    expect(exempt).toMatchObject({ action_id: APPROVAL_ACTION_IDS.exempt, text: { text: "Exempt for 30 days" } });
    for (const button of [approve, reject, exempt]) {
      expect(JSON.parse(button?.value ?? "")).toEqual({ p: proposal.id, h: proposal.planHash });
    }
  });

  it("says when a finding came from the scheduled sweep and when a fix cannot be rolled back", () => {
    const sweep = sampleProposal("phi-sweep", T0);
    delete sweep.finding.event;
    const irreversible: Proposal = { ...sweep, plan: { ...sweep.plan, reversible: false } };
    const sweepText = visibleText(buildProposalMessage(irreversible, CONTROL, "C0APPROVALS").blocks);
    expect(sweepText).toContain("*Changed by*\nFound by the scheduled sweep");
    expect(sweepText).toContain("*Cannot be rolled back*");
  });

  it("withholds secret-looking evidence, truncates long values and caps the list", () => {
    const noisy = sampleProposal("phi-noisy", T0);
    noisy.finding.evidence = {
      policy: "x".repeat(500),
      nested: { SecretAccessKey: "wJalrXUtnFEMI/K7MDENG", password: "hunter2" },
      ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, i])),
    };
    const noisyText = visibleText(buildProposalMessage(noisy, CONTROL, "C0APPROVALS").blocks);
    expect(noisyText).not.toContain("wJalrXUtnFEMI");
    expect(noisyText).not.toContain("hunter2");
    expect(noisyText).toContain("• nested.SecretAccessKey: (withheld)");
    expect(noisyText).toContain(`• policy: ${"x".repeat(119)}…`);
    expect(noisyText).toContain("… and 11 more");
  });

  it("escapes Slack control characters and stays inside Block Kit's limits", () => {
    const hostile = sampleProposal("phi-hostile", T0);
    hostile.finding.summary = "<!channel> & <https://evil.example|click>";
    const blocks = buildProposalMessage(hostile, { ...CONTROL, title: "T".repeat(400) }, "C0APPROVALS").blocks;
    const hostileText = visibleText(blocks);
    expect(hostileText).toContain("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;");
    const header = blocks[0];
    expect(header?.type === "header" && header.text.text.length).toBeLessThanOrEqual(150);
    for (const block of blocks) {
      if (block.type === "section" && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
    }
  });

  it("falls back to the control id when the control is not registered", () => {
    const orphanText = visibleText(buildProposalMessage(proposal, undefined, "C0APPROVALS").blocks);
    expect(orphanText).toContain("HIPAA fix awaiting approval: s3-bucket-default-encryption");
    expect(orphanText).toContain("HIPAA not recorded");
  });
});

describe("outcome updates", () => {
  const proposal = sampleProposal("phi-outcome", T0);
  const ref = { channel: "C0APPROVALS", ts: "1700000000.000042" };
  const update = (outcome: Parameters<typeof buildOutcomeUpdate>[2]) => buildOutcomeUpdate(proposal, CONTROL, outcome, ref);

  it("replaces the buttons with the outcome on the same message", () => {
    const applied = update({ kind: "executed", by: dana, execution: { status: "verified", before: {}, after: {} } });
    expect(applied).toMatchObject({ channel: "C0APPROVALS", ts: "1700000000.000042" });
    expect(applied.blocks.some((block) => block.type === "actions")).toBe(false);
    expect(visibleText(applied.blocks)).toContain("Bucket phi-outcome has no default encryption");
    expect(applied.text).toBe(":white_check_mark: Approved by *dana*. The fix was applied and verified.");
  });

  it("words every outcome with who decided", () => {
    expect(update({ kind: "approved", by: dana }).text).toBe(":hourglass_flowing_sand: Approved by *dana*; applying the fix now.");
    expect(
      update({
        kind: "executed",
        by: dana,
        execution: { status: "failed", stage: "apply", error: { name: "AccessDenied", message: "not allowed" } },
      }).text,
    ).toBe(":x: Approved by *dana*, but the fix failed at the apply step: AccessDenied: not allowed");
    expect(update({ kind: "executed", by: dana, execution: { status: "no-longer-applies", reason: "bucket is gone" } }).text).toBe(
      ":information_source: Approved by *dana*, but the fix no longer applies: bucket is gone. Nothing was changed.",
    );
    expect(update({ kind: "rejected", by: dana }).text).toBe(":no_entry_sign: Rejected by *dana*. Nothing was changed.");
    const exempted = update({ kind: "exempted", by: dana, reason: "migration <until> Friday", expires: "2025-03-31T12:00:00.000Z" });
    expect(exempted.text).toContain("Exempted by *dana* until <!date^1743422400^");
    expect(exempted.text).toContain("Reason: migration &lt;until&gt; Friday");
    expect(update({ kind: "expired" }).text).toContain("Expired <!date^");
  });

  it("reminds in the proposal's thread", () => {
    const reminder = buildReminder(proposal, ref);
    expect(reminder).toMatchObject({ channel: "C0APPROVALS", thread_ts: "1700000000.000042" });
    expect(reminder.text).toContain("still waiting for a decision");
    expect(reminder.text).toContain(proposal.expiresAt);
  });
});

describe("exemption modal", () => {
  it("asks for a reason and carries only the proposal id, plan hash and message", () => {
    const proposal = sampleProposal("phi-modal", T0);
    const modal = buildExemptionModal(proposal, CONTROL, proposal.slack);
    expect(modal.callback_id).toBe(EXEMPTION_MODAL.callbackId);
    expect(JSON.parse(modal.private_metadata ?? "")).toEqual({ p: proposal.id, h: proposal.planHash, m: proposal.slack });
    const input = modal.blocks.find((block) => block.type === "input");
    expect(input).toMatchObject({
      block_id: EXEMPTION_MODAL.reasonBlockId,
      element: { type: "plain_text_input", action_id: EXEMPTION_MODAL.reasonActionId, min_length: 10 },
    });
  });
});
