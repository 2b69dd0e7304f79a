import type { Finding, Plan } from "../controls/contract";
import type { Decider } from "../log/entry";

export type ProposalStatus =
  | "pending"
  /**
   * Legacy: written before approvals took a lease (the worker moved pending -> approved, then applied). Housekeeping
   * treats one as an applying proposal whose lease has run out.
   */
  | "approved"
  /** Approved, and a worker holding the lease (`leaseHolder` until `leaseExpiresAt`) is applying the plan. */
  | "applying"
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
  /** Who is applying the approved plan (one worker invocation), while the proposal is `applying`. */
  leaseHolder?: string;
  /** After this time the holder is presumed dead and housekeeping resolves the proposal. */
  leaseExpiresAt?: string;
}

/** The statuses in which a proposal is still open: a new finding for its control and resource must not add another. */
export const OPEN_PROPOSAL_STATUSES = ["pending", "applying", "approved"] as const satisfies readonly ProposalStatus[];

/**
 * Proposal persistence. `transition` is the exactly-once gate: it moves a proposal from one status to another
 * atomically and returns false when another decider got there first.
 */
export interface ProposalStore {
  create(proposal: Proposal): Promise<void>;
  get(id: string): Promise<Proposal | undefined>;
  listByStatus(status: ProposalStatus): Promise<Proposal[]>;
  transition(id: string, from: ProposalStatus, to: ProposalStatus, changes?: ProposalTransitionChanges): Promise<boolean>;
  /**
   * Moves an `applying` proposal to `to` only while `holder` still holds its lease: the worker's final status, or
   * housekeeping taking over an expired lease (`to` = "applying" with a new lease). False when the lease moved on.
   */
  transitionLeased(id: string, holder: string, to: ProposalStatus, changes?: ProposalTransitionChanges): Promise<boolean>;
  /** Updates fields that do not change status (Slack message ref, reminder time). */
  update(id: string, changes: Partial<Pick<Proposal, "slack" | "reminderSentAt">>): Promise<void>;
}

/** Tells people about proposals: Slack when configured, nothing (the local page lists them) otherwise. */
export interface ProposalNotifier {
  proposed(proposal: Proposal): Promise<{ channel: string; ts: string } | undefined>;
}

/** The fields a status transition may set alongside the new status. */
export type ProposalTransitionChanges = Partial<
  Pick<Proposal, "decidedBy" | "decidedAt" | "reminderSentAt" | "slack" | "leaseHolder" | "leaseExpiresAt">
>;
