import { beforeEach, describe, expect, it } from "vitest";
import { SlackNotifier, type Proposal } from "@hipaa-remediate/core";
import { useSlackRecorder, type SlackRecorder } from "../../support/slack-recorder";
import { CONTROL, sampleProposal } from "./fixtures";

const T0 = new Date("2025-03-01T12:00:00Z");
const slackRecorder = useSlackRecorder();
let recorder: SlackRecorder;
let notifier: SlackNotifier;

beforeEach(() => {
  recorder = slackRecorder();
  notifier = new SlackNotifier(recorder.client(), {
    channel: "C0APPROVALS",
    describeControl: (id) => (id === CONTROL.id ? CONTROL : undefined),
  });
});

function unposted(bucket: string): Proposal {
  return sampleProposal(bucket, T0, { slack: undefined });
}

describe("SlackNotifier", () => {
  it("posts the proposal to the policy's channel with the bot token and returns where it lives", async () => {
    const proposal = unposted("phi-notify");
    const ref = await notifier.proposed(proposal);
    expect(ref).toEqual({ channel: "C0APPROVALS", ts: "1700000000.000001" });
    const [call] = recorder.callsTo("chat.postMessage");
    expect(call?.token).toBe("xoxb-test-token");
    expect(call?.args).toMatchObject({ channel: "C0APPROVALS", unfurl_links: "false" });
    const blocks = call?.args.blocks;
    expect(
      Array.isArray(blocks) && blocks.map((block) => (typeof block === "object" && block && "type" in block ? block.type : "")),
    ).toEqual(["header", "section", "section", "section", "section", "section", "context", "actions"]);
    // The serialised request never carries the plan's parameters in a button.
    expect(JSON.stringify(call?.args)).toContain(`{\\"p\\":\\"${proposal.id}\\",\\"h\\":\\"${proposal.planHash}\\"}`);
  });

  it("updates the outcome and reminds in the thread once the message exists", async () => {
    const proposal = unposted("phi-notify-later");
    const by = { id: "U0DANA", name: "dana", via: "slack" as const };
    expect(await notifier.updateOutcome(proposal, { kind: "rejected", by })).toBe(false);
    expect(await notifier.remind(proposal)).toBe(false);
    expect(recorder.calls).toEqual([]);

    const posted = { ...proposal, slack: await notifier.proposed(proposal) };
    expect(await notifier.updateOutcome(posted, { kind: "rejected", by })).toBe(true);
    expect(await notifier.remind(posted)).toBe(true);
    expect(recorder.callsTo("chat.update")[0]?.args).toMatchObject({ channel: "C0APPROVALS", ts: posted.slack.ts });
    expect(recorder.callsTo("chat.postMessage")[1]?.args).toMatchObject({ thread_ts: posted.slack.ts });
  });

  it("surfaces Slack's API errors", async () => {
    recorder.failMethod("chat.postMessage", "channel_not_found");
    await expect(notifier.proposed(unposted("phi-notify-fail"))).rejects.toThrow(/channel_not_found/);
  });
});
