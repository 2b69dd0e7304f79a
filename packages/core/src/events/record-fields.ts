import { PLACEHOLDER } from "./schemas";

/**
 * Small readers for CloudTrail fields whose real-world values drift: placeholders, numbers where strings are
 * documented, several timestamp spellings. Each returns `undefined` for "no usable value".
 */

export function isObjectValue(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A string with content; empty strings and the placeholder "..." mean no value. */
export function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" && value !== PLACEHOLDER ? value : undefined;
}

/**
 * Account ids as strings. JSON numbers lose leading zeros, and every AWS account id has 12 digits, so numbers
 * are padded back; strings are kept as written even when they are not 12 digits (samples use fake ids).
 */
export function accountIdText(value: unknown): string | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? String(value).padStart(12, "0") : undefined;
  }
  const id = text(value)?.trim();
  return id === "" ? undefined : id;
}

/** `readOnly` is a boolean in CloudTrail, but exports through YAML or data lakes turn it into "true"/"True". */
export function readOnlyFlag(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value !== "string") return undefined;
  const lower = value.toLowerCase();
  return lower === "true" ? true : lower === "false" ? false : undefined;
}

const CLOUDTRAIL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const LOOSE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * An ISO-8601 UTC time, or undefined when the value is no timestamp. CloudTrail's own format is kept as
 * written; exports that print `2023-05-26 20:14:51` or nanoseconds are read as UTC and rewritten.
 */
export function isoTime(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  if (CLOUDTRAIL_TIME.test(value)) return Number.isNaN(Date.parse(value)) ? undefined : value;
  const match = LOOSE_TIME.exec(value.trim());
  if (!match) return undefined;
  const [, date, clock, fraction = "", zone = "Z"] = match;
  const offset = zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const millis = Date.parse(`${date}T${clock}.${`${fraction}000`.slice(0, 3)}${offset}`);
  return Number.isNaN(millis) ? undefined : new Date(millis).toISOString();
}
