import type { LogDraft, LogStore, Stage } from "../log/port";
import { assertLoggable } from "../log/redact";

/**
 * Holds a unit of work's log entries in the order they are issued and writes them together, in one `appendAll`,
 * when the work needs them durable: before a side effect outside the log (the caller flushes), when the work ends
 * (`finish`), at once when asked (`writePending`), or by a deadline (`writePendingWithin`). The entries issued
 * between two side effects thus cost one write instead of one each, and no read of the work waits for them. Writes
 * never overlap: each starts after the one before it has ended (a store that remembers its head relies on its
 * appends never overlapping). Once a write fails, nothing issued after it is written, as it would not have been had
 * each append been awaited in turn; `flush` reports that first failure.
 */
export class OrderedLogWriter {
  #pending: LogDraft[] = [];
  /** The writes started so far; never rejects (a failure is kept in #failure). */
  #written: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  /** The stages of the entries this writer has written. */
  readonly #writtenStages = new Set<Stage>();
  /** The writer whose entries come before this one's, until this one's first write. */
  #predecessor: OrderedLogWriter | undefined;
  /** The write `writePendingWithin` promised, until a write takes the entries it was for. */
  #deadline: ReturnType<typeof setTimeout> | undefined;

  /**
   * `after`: a writer whose entries issued so far come before this one's. This writer's first write waits for
   * every write `after` has started, takes `after`'s failure as its own, and carries the entries `after` has not
   * written yet: if it fails, the failure is `after`'s too (its entries were in it), and `after.flush()` waits for
   * it. Issue no more entries through `after` while this writer is in use.
   */
  constructor(
    private readonly log: Pick<LogStore, "appendAll">,
    after?: OrderedLogWriter,
  ) {
    this.#predecessor = after;
  }

  /**
   * Queues the entry behind those issued before it; nothing is written until a flush. An entry the log would refuse
   * for what it holds (UnloggableEntryError) is refused here, when issued: it fails the work that issued it, not the
   * write it would have shared with the entries before it.
   */
  append(draft: LogDraft): void {
    assertLoggable(draft);
    this.#pending.push(draft);
  }

  /**
   * Starts writing the entries issued so far, without waiting: for entries worth having in the log as early as
   * possible while the work goes on (a fix's last entries, while the idempotency record completes). A failure is
   * kept for `flush`. Cancels a deadline set by `writePendingWithin`: this write takes its entries.
   */
  writePending(): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    const predecessor = this.#predecessor;
    this.#predecessor = undefined;
    const carried = predecessor ? predecessor.#pending.splice(0) : [];
    const drafts = [...carried, ...this.#pending.splice(0)];
    if (drafts.length === 0 && !predecessor) return;
    const before = predecessor ? Promise.all([this.#written, predecessor.#written]) : this.#written;
    const write = before.then(async () => {
      if (predecessor && predecessor.#failure) this.#fail(predecessor.#failure.error);
      if (this.#failure || drafts.length === 0) return;
      try {
        await this.log.appendAll(drafts);
        for (const draft of drafts) this.#writtenStages.add(draft.stage);
      } catch (error) {
        this.#fail(error);
        if (predecessor && carried.length > 0) predecessor.#fail(error);
      }
    });
    this.#written = write;
    if (predecessor && carried.length > 0) predecessor.#written = write;
  }

  /**
   * Writes the entries issued so far no later than `ms` from now: with what is issued meanwhile, in one write, when
   * the work flushes or ends before then; on their own when it does not. An earlier deadline stands.
   */
  writePendingWithin(ms: number): void {
    this.#deadline ??= setTimeout(() => this.writePending(), ms);
  }

  /** Whether an entry of this stage is in the log: written by this writer, in a write that has ended. */
  hasWritten(stage: Stage): boolean {
    return this.#writtenStages.has(stage);
  }

  /** Resolves once every entry issued so far is written; rejects with the first write that failed. */
  async flush(): Promise<void> {
    this.writePending();
    await this.#written;
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * Runs a unit of work and returns once all its entries are written. When the work throws after a write had
   * already failed, the write's error is the one reported: it came first, as it did when appends were awaited.
   */
  async finish<T>(work: () => Promise<T>): Promise<T> {
    const result = await this.run(work);
    await this.flush();
    return result;
  }

  /** As `finish`, except that when the work succeeds its last entries may still be unwritten: the caller flushes. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      await this.flush();
      throw error;
    }
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
  }
}
