const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export const EXPIRY_FORMAT = "a date (2027-01-31) or a date-time with a time zone (2027-01-31T18:00:00Z)";

/**
 * Normalises an exemption expiry to an ISO date-time in UTC, or undefined when it is not a real date.
 * A bare date means "through that day": the exemption lapses at the end of it, in UTC. A date-time must carry
 * a time zone, because an exemption that ends at a different hour on every engine is not an auditable rule.
 */
export function normaliseExpiry(text: string): string | undefined {
  const date = DATE.exec(text);
  if (date) {
    const [, year, month, day] = date.map(Number);
    if (year === undefined || month === undefined || day === undefined) return undefined;
    const endOfDay = new Date(Date.UTC(year, month - 1, day, 23, 59, 59, 999));
    // Date.UTC rolls 2027-02-30 over into March; a rolled-over date is a typo, not an expiry.
    if (endOfDay.getUTCMonth() !== month - 1 || endOfDay.getUTCDate() !== day) return undefined;
    return endOfDay.toISOString();
  }
  if (!DATE_TIME.test(text)) return undefined;
  const instant = Date.parse(text);
  return Number.isNaN(instant) ? undefined : new Date(instant).toISOString();
}

/** An exemption applies up to and including its expiry instant. */
export function hasExpired(expires: string, now: Date): boolean {
  return now.getTime() > Date.parse(expires);
}
