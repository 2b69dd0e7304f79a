import type { SqliteDatabase } from "@hipaa-remediate/core";

export interface BatchLimits {
  records: number;
  milliseconds: number;
}

/**
 * Groups an offline replay's SQLite writes into transactions of bounded size and age, instead of one commit per
 * log entry. Only for offline replay: nothing in AWS changes there, so a crash can lose at most the last batch of
 * log entries of a run that can simply be repeated. Between batches the write lock is released, so other
 * processes (the local page, another CLI) still get their turn.
 */
export class CommitBatcher {
  #open = false;
  #count = 0;
  #startedAt = 0;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly limits: BatchLimits = { records: 2_000, milliseconds: 250 },
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Called once per input record, before it is processed. */
  tick(): void {
    if (this.#open && (this.#count >= this.limits.records || this.now() - this.#startedAt >= this.limits.milliseconds)) {
      this.finish();
    }
    if (!this.#open) {
      this.db.exec("BEGIN IMMEDIATE");
      this.#open = true;
      this.#count = 0;
      this.#startedAt = this.now();
    }
    this.#count += 1;
  }

  /** Commits what is pending. Safe to call more than once. */
  finish(): void {
    if (!this.#open) return;
    this.db.exec("COMMIT");
    this.#open = false;
  }
}
