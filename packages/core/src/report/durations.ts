import type { DurationBucket, DurationStats } from "./model";

/**
 * Nearest-rank percentile: the smallest value with at least p% of the values at or below it. No interpolation,
 * so every figure is a time that was actually measured, and an auditor can check it by sorting the column.
 */
export function nearestRank(sorted: readonly number[], percent: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((percent / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export function durationStats(values: readonly number[]): DurationStats {
  const sorted = [...values].sort((a, b) => a - b);
  const stats: DurationStats = { count: sorted.length };
  const p50 = nearestRank(sorted, 50);
  const p95 = nearestRank(sorted, 95);
  const max = sorted.at(-1);
  if (p50 !== undefined) stats.p50Ms = p50;
  if (p95 !== undefined) stats.p95Ms = p95;
  if (max !== undefined) stats.maxMs = max;
  return stats;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Buckets for the time-to-remediate chart: minutes for automatic fixes, hours and days for approvals. */
const BUCKETS: readonly { label: string; upToMs?: number }[] = [
  { label: "< 1 min", upToMs: MINUTE },
  { label: "1–5 min", upToMs: 5 * MINUTE },
  { label: "5–15 min", upToMs: 15 * MINUTE },
  { label: "15–60 min", upToMs: HOUR },
  { label: "1–4 h", upToMs: 4 * HOUR },
  { label: "4–24 h", upToMs: DAY },
  { label: "1–7 days", upToMs: 7 * DAY },
  { label: "> 7 days" },
];

export function durationHistogram(values: readonly number[]): DurationBucket[] {
  const buckets: DurationBucket[] = BUCKETS.map((bucket) => ({ ...bucket, count: 0 }));
  for (const value of values) {
    const bucket = buckets.find((b) => b.upToMs === undefined || value < b.upToMs);
    if (bucket) bucket.count += 1;
  }
  return buckets;
}

/** `3 d 4 h`, `2 h 5 min`, `42 s`: two units at most (a zero second unit left out), for tables and charts. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "–";
  if (ms < MINUTE) return `${Math.round(ms / 1000)} s`;
  const [big, bigUnit, small, smallUnit, smallMs] =
    ms < HOUR ? [MINUTE, "min", 1000, "s", MINUTE] : ms < DAY ? [HOUR, "h", MINUTE, "min", HOUR] : [DAY, "d", HOUR, "h", DAY];
  const whole = Math.floor(ms / big);
  const rest = Math.round((ms % smallMs) / small);
  return rest === 0 ? `${whole} ${bigUnit}` : `${whole} ${bigUnit} ${rest} ${smallUnit}`;
}
