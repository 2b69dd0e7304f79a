import type { ChangeEvent } from "../events/change-event";
import type { Logger } from "../support/logger";
import { errorFields } from "./log-fields";
import { deferralDelaySeconds, type DeferralQueue } from "./deferral";

/** Runs one deferred event through the engine again. */
export type RecheckRunner = (event: ChangeEvent) => Promise<unknown>;

/**
 * The local runner's deferral queue, in process. `serve` gives it a runner: each event re-runs on a timer after
 * its delay. `replay --live` gives none: events wait in the queue and `drain` re-runs them at the end of the run,
 * once due. Nothing survives the process, which is fine locally: a stopped runner is re-run by hand.
 */
export class InProcessDeferralQueue implements DeferralQueue {
  private readonly waiting: { event: ChangeEvent; dueAt: number }[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly logger: Logger,
    private readonly onDue?: RecheckRunner,
  ) {}

  async defer(event: ChangeEvent, afterSeconds: number): Promise<void> {
    const delayMs = deferralDelaySeconds(afterSeconds) * 1000;
    const run = this.onDue;
    if (!run) {
      this.waiting.push({ event, dueAt: Date.now() + delayMs });
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run(event).catch((error: unknown) => this.logger.error(`re-check of event ${event.id} failed`, { error: errorFields(error) }));
    }, delayMs);
    // A pending re-check never keeps the process alive on its own.
    timer.unref();
    this.timers.add(timer);
  }

  /** Events waiting for `drain`. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Re-runs every waiting event once it is due, soonest first, until none is left (a re-run may defer again). */
  async drain(run: RecheckRunner): Promise<number> {
    let runs = 0;
    while (this.waiting.length > 0) {
      this.waiting.sort((a, b) => a.dueAt - b.dueAt);
      const next = this.waiting.shift();
      if (!next) break;
      const wait = next.dueAt - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await run(next.event);
      runs += 1;
    }
    return runs;
  }

  /** Cancels the timers of re-checks not yet due (serve stopping). */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
