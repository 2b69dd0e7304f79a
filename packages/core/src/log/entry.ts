import type { Mode, Plan, ResourceRef } from "../controls/contract";
import type { JsonObject } from "../support/json";

/** Every stage in the life of an input, a finding or a proposal. */
export const STAGES = [
  "received",
  "rejected",
  "ignored",
  "finding",
  "no-longer-applies",
  "exempted",
  "exemption-expired",
  "decision",
  "would-remediate",
  "proposed",
  "approved",
  "rejected-by-approver",
  "unauthorised-attempt",
  "expired",
  // Written just before apply: if the engine dies before the result is logged, a redelivery finds it and
  // finishes the log truthfully instead of applying again (runner/interrupted-fix.ts).
  "applying",
  "applied",
  "verified",
  "failed",
  "rolled-back",
  // Appended once at the end of a full-account sweep, with counts per control (the posture an audit report shows).
  "sweep-completed",
  // A control asked to look again later (tags not settled yet): the event is re-delivered after a delay.
  "deferred",
] as const;
export type Stage = (typeof STAGES)[number];

/** A person who decided: a Slack user, a local-page user or a CLI user. */
export interface Decider {
  id: string;
  name: string;
  via: "slack" | "web" | "cli";
}

/**
 * What callers append. Never put object contents, secrets or request bodies here: only ids, ARNs, resource
 * configuration and reasons.
 */
export interface LogDraft {
  stage: Stage;
  /** ISO time of the step, from the injected clock. */
  at: string;
  eventId?: string;
  /** The principal that made the change being examined. */
  actor?: string;
  resource?: Pick<ResourceRef, "arn" | "type" | "id" | "account" | "region">;
  control?: string;
  hipaa?: string[];
  plan?: Plan;
  planHash?: string;
  proposalId?: string;
  mode?: Mode | "exempt" | "suppressed";
  decidedBy?: Decider;
  reason?: string;
  /** Summary of the resource state before the change (what rollback restores). */
  before?: JsonObject;
  after?: JsonObject;
  error?: { name: string; message: string; code?: string };
  /** The input's origin, for received, rejected and ignored inputs. */
  source?: string;
  details?: JsonObject;
}

/** A stored entry: the draft plus its place in the chain. */
export interface LogEntry extends LogDraft {
  /** 1-based position in the chain. */
  seq: number;
  /**
   * The previous entry's `hash`, i.e. the SHA-256 (hex) of the canonical JSON of the previous entry without its
   * own `hash` field; GENESIS_HASH for the first entry. See log/chain.ts.
   */
  prevHash: string;
  /** SHA-256 (hex) of the canonical JSON of this entry without `hash` (so it covers `seq` and `prevHash`). */
  hash: string;
}

export const GENESIS_HASH = "0".repeat(64);
