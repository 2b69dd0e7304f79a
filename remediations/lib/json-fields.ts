import { isJsonObject, type JsonObject, type JsonValue } from "@hipaa-remediate/core";

/**
 * Tolerant readers for CloudTrail request and response bodies. Real records omit fields, send `null`, wrap
 * scalars in lists (older S3 records) and redact values as the literal "...", so every reader answers
 * "absent" instead of throwing.
 */

const REDACTED = "...";

/** The object at `path` below `root`, or undefined when any step is missing or not an object. */
export function objectAt(root: JsonValue | null | undefined, ...path: string[]): JsonObject | undefined {
  let current: JsonValue | null | undefined = root;
  for (const key of path) {
    if (!isJsonObject(current)) return undefined;
    current = current[key];
  }
  return isJsonObject(current) ? current : undefined;
}

/** Every usable string in a value that may be a scalar or a list of scalars. */
export function stringsOf(value: JsonValue | null | undefined): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items.filter((item): item is string => typeof item === "string" && item !== "" && item !== REDACTED);
}

/** The first usable string in a value that may be a scalar or a list. */
export function stringOf(value: JsonValue | null | undefined): string | undefined {
  return stringsOf(value)[0];
}

/** A boolean that CloudTrail may record as `true` or as the string "true". */
export function booleanOf(value: JsonValue | null | undefined): boolean | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === "boolean") return first;
  if (first === "true") return true;
  if (first === "false") return false;
  return undefined;
}

/** The objects in a value that may be one object or a list of objects. */
export function objectsOf(value: JsonValue | null | undefined): JsonObject[] {
  const items = Array.isArray(value) ? value : [value];
  return items.filter(isJsonObject);
}

/** A number that CloudTrail may record as `7` or as the string "7"; undefined for anything else. */
export function numberOf(value: JsonValue | null | undefined): number | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === "number" && Number.isFinite(first)) return first;
  if (typeof first === "string" && /^-?\d+(\.\d+)?$/.test(first.trim())) return Number(first);
  return undefined;
}
