/** Where interrupted-fix-process.ts kills the engine during an automatic fix, in the order a fix passes them. */
export const KILL_POINTS = [
  // After the re-check, before the `applying` entry: nothing was changed or promised.
  "before-applying",
  // After the `applying` entry, before the call that changes the resource.
  "before-apply",
  // After the change, before the `applied` entry.
  "after-apply",
  // After the `applied` entry, before verify reads the resource back. Verify is slow here: `applied` is written on
  // its own at its deadline (APPLIED_ENTRY_DEADLINE_MS), the state before the change with it.
  "after-applied",
  // After verify read the resource back (in time to share a write with `applied`), before `applied` and `verified`
  // are written: the state before the change was never in the log.
  "after-verify",
  // After the idempotency record is completed, before the `verified` entry (they are written at the same time):
  // the redelivery is turned away by the record, and must still finish the fix's log. Verify is slow here, so
  // `applied` is in the log.
  "after-completed",
  // After the `verified` entry, before the idempotency record is completed.
  "after-verified",
  // No kill: the redelivery's run.
  "none",
] as const;
export type KillPoint = (typeof KILL_POINTS)[number];
