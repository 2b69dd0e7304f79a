import type { RateLimitSettings } from "./schema";

/**
 * The shared cap on automatic fixes (policy `rateLimit`). Every engine instance draws from the same store, so
 * the cap holds however many Lambdas run at once. The runner reads `countInWindow` for the policy decision, and
 * calls `tryAcquire` right before an automatic fix: when it returns false the fix becomes a proposal.
 */
export interface RateLimiter {
  /**
   * Automatic fixes recorded in the sliding window that ends at `now` (the last `windowMinutes`): no span of one
   * window length ever holds more than the cap, so a burst across a boundary cannot reach twice it. It may be a
   * lower bound (a warm DynamoDB limiter counts from the log it last saw): `tryAcquire` is what holds the cap.
   */
  countInWindow(now: Date): Promise<number>;
  /** Records one automatic fix if the window is below the cap, atomically across engines; false at the cap. */
  tryAcquire(now: Date): Promise<boolean>;
}

export type RateLimits = Pick<RateLimitSettings, "maxAutoFixes" | "windowMinutes">;

export const MS_PER_MINUTE = 60_000;

/** The store behind a rate limiter failed; whether a fix may go ahead is unknown, so the caller must not assume. */
export class RateLimitStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RateLimitStoreError";
  }
}
