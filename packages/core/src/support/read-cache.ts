/**
 * Memoises live reads for one unit of work: one event, or one sweep run. A sweep with a dozen bucket controls
 * then lists the buckets and reads each bucket's tags once, and every control of that type shares the result.
 *
 * Detection and sweep listing read through it. The re-check just before a change gets its own scope
 * (`forRecheck`): it reads the state afresh, and `apply` takes the state it captures from that re-check instead of
 * reading it a third time. `verify` always reads afresh, after the change.
 */
export class ReadCache {
  readonly #entries = new Map<string, Promise<unknown>>();
  /** Keys read with `readLasting`: facts a fix does not change, which a re-check scope keeps. */
  readonly #lasting = new Set<string>();
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

  /**
   * Like `read`, for what a fix does not change (a resource's tags): the re-check before a change reuses it
   * instead of reading it again.
   */
  readLasting<T>(key: string, load: () => Promise<T>): Promise<T> {
    this.#lasting.add(key);
    return this.read(key, load);
  }

  /**
   * The scope of the re-check just before a change: it keeps this cache's lasting reads and reads everything else
   * (the setting the fix is about) afresh. Apply then reads through the same scope, so the state it captures
   * before the change is the re-check's, read moments earlier, not a third read.
   */
  forRecheck(): ReadCache {
    const scope = new ReadCache();
    for (const key of this.#lasting) {
      const entry = this.#entries.get(key);
      if (entry === undefined) continue;
      scope.#entries.set(key, entry);
      scope.#lasting.add(key);
    }
    return scope;
  }

  /** Drops one entry, e.g. after a change that makes it stale. */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  get stats(): { hits: number; misses: number; entries: number } {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size };
  }
}
