import type { FindingOutcome } from "../model";

/** How each outcome reads in the report, with what it means for someone new to the tool. */
export const OUTCOME_TEXT: Readonly<Record<FindingOutcome, { label: string; meaning: string }>> = {
  verified: { label: "Fixed and verified", meaning: "The fix was applied, and reading the resource back showed it took effect." },
  failed: { label: "Failed", meaning: "Checking, applying or verifying the fix failed; the error is in the log entry." },
  "no-longer-applies": {
    label: "No longer applies",
    meaning: "When the fix was about to run, the resource was already compliant or no longer existed.",
  },
  exempted: { label: "Exempted", meaning: "An exemption with a reason, an owner and an expiry date covered the resource." },
  suppressed: { label: "Control disabled", meaning: "The policy turns this control off; the finding was recorded and left alone." },
  proposed: { label: "Proposed, awaiting a decision", meaning: "A fix was proposed and waits for an approver." },
  approved: { label: "Approved, not yet applied", meaning: "An approver accepted the fix; no apply was logged yet." },
  rejected: { label: "Rejected", meaning: "An approver rejected the fix; nothing was changed." },
  expired: { label: "Proposal expired", meaning: "Nobody decided before the proposal's expiry; nothing was changed." },
  applied: { label: "Applied, not verified", meaning: "The fix was applied but no verification was logged after it." },
  "rolled-back": { label: "Rolled back", meaning: "The fix was applied, then undone with `hipaa-remediate rollback`." },
  "would-remediate": {
    label: "Reported only (dry-run)",
    meaning: "The policy's mode is dry-run: the engine recorded what it would fix and changed nothing.",
  },
  detected: {
    label: "Detected, no action logged",
    meaning: "Decided, with nothing further logged: a notification-only finding, or a proposal for it was already pending.",
  },
};
