/**
 * Memoises live reads for one unit of work: one event, or one sweep run. A sweep with a dozen bucket controls
 * then lists the buckets and reads each bucket's tags once, and every control of that type shares the result.
 *
 * Only detection and sweep listing read through it. `apply` and `verify` always read afresh: the re-check just
 * before a change must see the state as it is now, not as it was when the unit of work began.
 */
export class ReadCache {
  readonly #entries = new Map<string, Promise<unknown>>();
  #hits = 0;
  #misses = 0;

  /** The value cached under `key`, loading it once. Concurrent callers share one load; a failed load is forgotten. */
  read<T>(key: string, load: () => Promise<T>): Promise<T> {
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      this.#hits += 1;
      return cached as Promise<T>;
    }
    this.#misses += 1;
    const pending = load();
    this.#entries.set(key, pending);
    pending.catch(() => this.#entries.delete(key));
    return pending;
  }

  /** Drops one entry, e.g. after a change that makes it stale. */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  get stats(): { hits: number; misses: number; entries: number } {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size };
  }
}
