import type { LogDraft, LogStore } from "../log/port";

/**
 * Writes a unit of work's log entries in the order they are issued, without making the work wait for each one: an
 * append can be in flight while the AWS read that follows it runs. The entries reach the log one at a time, each
 * after the one before it has been written (a store that remembers its head relies on its appends never
 * overlapping). Once an append fails, the entries issued after it are not written, as they would not have been had
 * each append been awaited in turn; `flush` reports that first failure.
 *
 * The caller flushes before any side effect outside the log (so that every entry issued before it is durable), and
 * `finish` flushes when the unit of work ends.
 */
export class OrderedLogWriter {
  #written: Promise<void>;
  #failure: { error: unknown } | undefined;

  /**
   * `after`: a writer whose entries issued so far must be written before this one's first; its failure is this
   * one's. Issue no more entries through it while this writer is in use.
   */
  constructor(
    private readonly log: Pick<LogStore, "append">,
    after?: OrderedLogWriter,
  ) {
    this.#written = after ? after.flush().catch((error: unknown) => this.#fail(error)) : Promise.resolve();
  }

  /** Queues the entry behind those issued before it; a failure is kept for `flush`, never left unhandled. */
  append(draft: LogDraft): void {
    this.#written = this.#written.then(async () => {
      if (this.#failure) return;
      try {
        await this.log.append(draft);
      } catch (error) {
        this.#fail(error);
      }
    });
  }

  /** Resolves once every entry issued so far is written; rejects with the first append that failed. */
  async flush(): Promise<void> {
    await this.#written;
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * Runs a unit of work and returns once all its entries are written. When the work throws after an append had
   * already failed, the append's error is the one reported: it came first, as it did when appends were awaited.
   */
  async finish<T>(work: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await work();
    } catch (error) {
      await this.flush();
      throw error;
    }
    await this.flush();
    return result;
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
  }
}
