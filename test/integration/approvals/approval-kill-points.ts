/** Where approval-crash-process.ts kills the approval worker, in the order an approval passes them. */
export const APPROVAL_KILL_POINTS = [
  // The proposal moved pending -> applying under the worker's lease; nothing logged yet.
  "after-lease",
  // The `approved` entry is in the log; nothing was changed.
  "after-approved-entry",
  // The change reached AWS, and no `applied` entry records it yet.
  "after-apply",
  // The `applied` entry is in the log; verify has not run (it is slow: `applied` went out alone at its deadline).
  "after-applied-entry",
  // The `verified` entry is in the log; the proposal still says applying.
  "after-verified-entry",
] as const;
export type ApprovalKillPoint = (typeof APPROVAL_KILL_POINTS)[number];
