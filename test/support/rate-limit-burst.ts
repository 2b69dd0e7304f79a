import type { RateLimiter } from "@hipaa-remediate/core";

/**
 * Asks `limiter` for a fix at every time in `attempts` (in order) and returns the times it granted. A burst at the
 * end of one fixed window and the start of the next is the case a fixed window gets wrong.
 */
export async function grantedTimes(limiter: RateLimiter, attempts: Date[]): Promise<number[]> {
  const granted: number[] = [];
  for (const at of attempts) if (await limiter.tryAcquire(at)) granted.push(at.getTime());
  return granted;
}

/** The most grants that fall in any span of `windowMs` (a span ending at each grant covers every case). */
export function busiestWindow(granted: number[], windowMs: number): number {
  return Math.max(0, ...granted.map((end) => granted.filter((at) => at > end - windowMs && at <= end).length));
}

/** `count` attempts one second apart, starting at `start`. */
export function burst(start: Date, count: number): Date[] {
  return Array.from({ length: count }, (_, i) => new Date(start.getTime() + i * 1_000));
}
