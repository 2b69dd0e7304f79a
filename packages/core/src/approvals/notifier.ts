import type { WebClient } from "@slack/web-api";
import type { Proposal, ProposalNotifier } from "../proposals/proposal";
import type { MessageRef } from "./action-value";
import {
  buildExemptionModal,
  buildOutcomeUpdate,
  buildProposalMessage,
  buildReminder,
  type DescribeControl,
  type ProposalOutcome,
} from "./message";

export class SlackResponseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SlackResponseError";
  }
}

/** Where to send a private reply to the person who clicked. */
export interface ReplyTarget {
  userId: string;
  /** The interaction's response_url: the preferred channel for replies to a click. */
  responseUrl?: string;
  /** For chat.postEphemeral when there is no response_url (modal submissions). */
  channel?: string;
}

/** The Slack side of a proposal after it was posted: outcome updates, the reminder, the modal and private replies. */
export class ProposalMessenger {
  constructor(
    protected readonly client: WebClient,
    protected readonly describeControl: DescribeControl,
  ) {}

  /**
   * Replaces the message's buttons with the outcome. Returns false when the proposal has no known message (it
   * was never posted, e.g. Slack was down when it was proposed).
   */
  async updateOutcome(proposal: Proposal, outcome: ProposalOutcome, message = proposal.slack): Promise<boolean> {
    if (!message) return false;
    await this.client.chat.update(buildOutcomeUpdate(proposal, this.describeControl(proposal.control), outcome, message));
    return true;
  }

  /** Posts the reminder in the proposal's thread. Returns false when the proposal has no known message. */
  async remind(proposal: Proposal): Promise<boolean> {
    if (!proposal.slack) return false;
    await this.client.chat.postMessage(buildReminder(proposal, proposal.slack));
    return true;
  }

  async openExemptionModal(proposal: Proposal, triggerId: string, message: MessageRef | undefined): Promise<void> {
    await this.client.views.open({
      trigger_id: triggerId,
      view: buildExemptionModal(proposal, this.describeControl(proposal.control), message ?? proposal.slack),
    });
  }

  /** A reply only the clicking user sees. */
  async tellUser(target: ReplyTarget, text: string): Promise<void> {
    if (target.responseUrl) {
      const response = await fetch(target.responseUrl, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify({ response_type: "ephemeral", replace_original: false, text }),
      });
      if (!response.ok) throw new SlackResponseError(`response_url answered HTTP ${response.status}`);
      return;
    }
    if (target.channel) {
      await this.client.chat.postEphemeral({ channel: target.channel, user: target.userId, text });
      return;
    }
    throw new SlackResponseError(`no way to reply to ${target.userId}: the interaction carried no response_url or channel`);
  }
}

export interface SlackNotifierOptions {
  /** The approvals channel from the policy. */
  channel: string;
  describeControl: DescribeControl;
}

/** Posts proposals to the policy's Slack channel, using the real Web API client (tests point it at a recorder). */
export class SlackNotifier extends ProposalMessenger implements ProposalNotifier {
  private readonly channel: string;

  constructor(client: WebClient, options: SlackNotifierOptions) {
    super(client, options.describeControl);
    this.channel = options.channel;
  }

  async proposed(proposal: Proposal): Promise<MessageRef> {
    const response = await this.client.chat.postMessage(
      buildProposalMessage(proposal, this.describeControl(proposal.control), this.channel),
    );
    if (!response.channel || !response.ts) {
      throw new SlackResponseError(`chat.postMessage for proposal ${proposal.id} returned no channel or ts`);
    }
    return { channel: response.channel, ts: response.ts };
  }
}
