import type { JsonObject } from "../support/json";
import { PLACEHOLDER } from "./schemas";

/**
 * One request parameter as a string. Older S3 records write parameters as one-element lists
 * (`"bucketName": ["phi-x"]`), newer ones as scalars (`"bucketName": "phi-x"`); both read the same here.
 * Numbers and booleans are returned as their JSON text. The placeholder "...", longer lists, objects and
 * missing keys give `undefined`. An empty string is a value: S3 marks sub-resources with `"logging": ""`.
 */
export function scalarParam(request: JsonObject | null | undefined, key: string): string | undefined {
  if (!request) return undefined;
  let value = request[key];
  if (Array.isArray(value)) {
    if (value.length !== 1) return undefined;
    value = value[0];
  }
  if (typeof value === "string") return value === PLACEHOLDER ? undefined : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}
