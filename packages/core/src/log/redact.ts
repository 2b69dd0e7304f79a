import type { JsonValue } from "../support/json";
import type { LogDraft } from "./entry";
import { UnloggableEntryError } from "./errors";

/**
 * Keys whose values are object contents or secrets in AWS APIs and common configuration. Compared
 * case-insensitively with `-` and `_` removed, and exactly: `ContentType` or `MinimumPasswordLength` are fine.
 */
export const UNLOGGABLE_KEYS: readonly string[] = [
  "body",
  "content",
  "contents",
  "plaintext",
  "password",
  "newpassword",
  "oldpassword",
  "passphrase",
  "secret",
  "secretstring",
  "secretbinary",
  "secretaccesskey",
  "secretkey",
  "sessiontoken",
  "privatekey",
  "userdata",
];

/**
 * Resource configuration is short: the largest AWS policy documents are about 20 KB. A longer string is far more
 * likely to be object contents or a dump than configuration.
 */
export const MAX_CONFIGURATION_STRING_LENGTH = 32_768;

const PRIVATE_KEY_MARKER = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

const normalisedUnloggable = new Set(UNLOGGABLE_KEYS.map(normaliseKey));

/**
 * Refuses a draft that would carry PHI or secrets into the log, which auditors read and export. Checks the
 * free-form parts of a draft (`before`, `after`, `details` and `plan.params`): no key from UNLOGGABLE_KEYS at
 * any depth, no private key, and no string longer than configuration ever is. The error names the field but never
 * repeats its value. Stores call this before every append, so a refused draft leaves no trace in the log.
 */
export function assertLoggable(draft: LogDraft): void {
  const freeForm: Array<[string, JsonValue | undefined]> = [
    ["before", draft.before],
    ["after", draft.after],
    ["details", draft.details],
    ["plan.params", draft.plan?.params],
  ];
  for (const [path, value] of freeForm) {
    if (value !== undefined) inspect(value, path);
  }
}

function inspect(value: JsonValue, path: string): void {
  if (typeof value === "string") {
    inspectString(value, path);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => inspect(item, `${path}[${index}]`));
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}.${key}`;
    if (normalisedUnloggable.has(normaliseKey(key))) {
      throw new UnloggableEntryError(`log entry refused: ${childPath} holds secrets or object contents; log configuration only`, {
        field: childPath,
      });
    }
    inspect(child, childPath);
  }
}

function inspectString(text: string, path: string): void {
  if (PRIVATE_KEY_MARKER.test(text)) {
    throw new UnloggableEntryError(`log entry refused: ${path} holds a private key`, { field: path });
  }
  if (text.length > MAX_CONFIGURATION_STRING_LENGTH) {
    throw new UnloggableEntryError(
      `log entry refused: ${path} is ${text.length} characters long, more than configuration ever is ` +
        `(limit ${MAX_CONFIGURATION_STRING_LENGTH}); it looks like object contents`,
      { field: path },
    );
  }
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}
