import type { EngineDeps, IgnoredResult, JsonObject } from "@hipaa-remediate/core";

/** Distinct reasons kept per entry; a file with more (one per odd error code) counts the rest together. */
const MAX_REASONS = 50;
const OTHER_REASONS = "other reasons";

/** The input file a result came from: its source without the `#Records[12]` position. */
function inputOf(source: string): string {
  const hash = source.indexOf("#");
  return hash < 0 ? source : source.slice(0, hash);
}

/**
 * Replay's log of ignored inputs (failed calls, other services' EventBridge events, digest files): one `ignored`
 * entry per input file with the count of each reason, instead of one hash-chained entry per record. An ignored
 * record changed nothing and nothing is done about it; stdout still lists each one with its event id, the summary
 * counts it, and the log keeps how many of each kind every file held. Rejected inputs keep one entry each.
 */
export class IgnoredTally {
  #input: string | undefined;
  #count = 0;
  #reasons = new Map<string, number>();

  constructor(private readonly deps: Pick<EngineDeps, "log" | "now">) {}

  /**
   * Counts one ignored record; logs the previous file's tally first when the record starts another file. Returns a
   * promise only then: most records are counted synchronously, without a promise each.
   */
  add(result: IgnoredResult): Promise<void> | undefined {
    const input = inputOf(result.source);
    if (this.#input !== undefined && input !== this.#input) return this.flush().then(() => this.#countRecord(input, result.reason));
    this.#countRecord(input, result.reason);
    return undefined;
  }

  #countRecord(input: string, reason: string): void {
    this.#input = input;
    this.#count += 1;
    const kept = this.#reasons.has(reason) || this.#reasons.size < MAX_REASONS ? reason : OTHER_REASONS;
    this.#reasons.set(kept, (this.#reasons.get(kept) ?? 0) + 1);
  }

  /** Logs what is counted and not yet logged, if anything. Call at the end of a run, aborted or not. */
  async flush(): Promise<void> {
    if (this.#input === undefined || this.#count === 0) return;
    const reasons: JsonObject = Object.fromEntries(this.#reasons);
    const count = this.#count;
    const source = this.#input;
    this.#input = undefined;
    this.#count = 0;
    this.#reasons = new Map();
    await this.deps.log.append({
      stage: "ignored",
      at: this.deps.now().toISOString(),
      source,
      reason: `${count} input record${count === 1 ? "" : "s"} ignored: not changes (count by reason in details)`,
      details: { records: count, reasons },
    });
  }
}
