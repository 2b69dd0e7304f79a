import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Proposal, ProposalTransitionChanges } from "../proposals/proposal";

/**
 * How long an approval worker may hold an `applying` proposal. Longer than any apply can run: the approval worker
 * Lambda stops at 15 minutes at most, so a lease still running belongs to a live worker, and one that has run out
 * belongs to a worker that died (killed, timed out, out of memory) before it recorded the outcome.
 */
export const APPLY_LEASE_MS = 20 * 60_000;

export type ApplyLease = Required<Pick<ProposalTransitionChanges, "leaseHolder" | "leaseExpiresAt">>;

/**
 * A lease for one attempt. The holder names the role and the process (the Lambda log stream, or host and pid) so a
 * person reading a stuck proposal can find the worker's logs; the random suffix makes every attempt its own holder.
 */
export function newApplyLease(role: "approval" | "housekeeping", now: Date, durationMs = APPLY_LEASE_MS): ApplyLease {
  const instance = process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? `${hostname()}/${process.pid}`;
  return {
    leaseHolder: `${role}:${instance}:${randomUUID()}`,
    leaseExpiresAt: new Date(now.getTime() + durationMs).toISOString(),
  };
}

/**
 * True when nobody is applying the proposal any more: an `applying` one whose lease ran out, or a legacy `approved`
 * one (approved before leases existed) whose approval is older than a lease.
 */
export function isStranded(proposal: Proposal, now: Date, leaseMs = APPLY_LEASE_MS): boolean {
  if (proposal.status === "applying") {
    return proposal.leaseExpiresAt === undefined || now.getTime() > Date.parse(proposal.leaseExpiresAt);
  }
  if (proposal.status === "approved") {
    return proposal.decidedAt === undefined || now.getTime() > Date.parse(proposal.decidedAt) + leaseMs;
  }
  return false;
}
