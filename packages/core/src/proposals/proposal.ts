import type { Finding, Plan } from "../controls/contract";
import type { Decider } from "../log/entry";

export type ProposalStatus =
  | "pending"
  | "approved"
  | "rejected"
  | "exempted"
  | "expired"
  | "applied"
  | "failed"
  | "no-longer-applies";

/** A plan waiting for a person. Button values carry only `id` and `planHash`, never the plan. */
export interface Proposal {
  id: string;
  createdAt: string;
  expiresAt: string;
  status: ProposalStatus;
  control: string;
  finding: Finding;
  plan: Plan;
  /** SHA-256 of the canonical plan; an approval must present the same hash. */
  planHash: string;
  eventId?: string;
  /** Where the Slack message lives, once posted. */
  slack?: { channel: string; ts: string };
  decidedBy?: Decider;
  decidedAt?: string;
  reminderSentAt?: string;
}

/**
 * Proposal persistence. `transition` is the exactly-once gate: it moves a proposal from one status to another
 * atomically and returns false when another decider got there first.
 */
export interface ProposalStore {
  create(proposal: Proposal): Promise<void>;
  get(id: string): Promise<Proposal | undefined>;
  listByStatus(status: ProposalStatus): Promise<Proposal[]>;
  transition(
    id: string,
    from: ProposalStatus,
    to: ProposalStatus,
    changes?: Partial<Pick<Proposal, "decidedBy" | "decidedAt" | "reminderSentAt" | "slack">>,
  ): Promise<boolean>;
  /** Updates fields that do not change status (Slack message ref, reminder time). */
  update(id: string, changes: Partial<Pick<Proposal, "slack" | "reminderSentAt">>): Promise<void>;
}

/** Tells people about proposals: Slack when configured, nothing (the local page lists them) otherwise. */
export interface ProposalNotifier {
  proposed(proposal: Proposal): Promise<{ channel: string; ts: string } | undefined>;
}

/** The fields a status transition may set alongside the new status. */
export type ProposalTransitionChanges = Partial<Pick<Proposal, "decidedBy" | "decidedAt" | "reminderSentAt" | "slack">>;
