import { z } from "zod";
import { canonicalJson } from "../support/json";
import { STAGES, type LogEntry } from "./entry";
import { CorruptLogEntryError } from "./errors";

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The fields the chain and the readers rely on. The rest of the entry is covered by its hash, so a change there
 * is caught by verifyChain rather than here.
 */
const storedEntrySchema = z.looseObject({
  seq: z.number().int().positive(),
  prevHash: z.string().regex(SHA256_HEX, "must be 64 lowercase hex digits"),
  hash: z.string().regex(SHA256_HEX, "must be 64 lowercase hex digits"),
  stage: z.enum(STAGES),
  at: z.string().min(1),
});

/**
 * Attributes a store keeps beside the entry's JSON so that it can find entries (an index on the event id, the hash
 * of the head for the next append). Readers rely on them, so they must say what the entry says: a column edited
 * outside the chain would otherwise steer `log show --event` or the next append while `verify` still passed.
 */
export interface StoredColumns {
  hash: unknown;
  /** Null, undefined and "" all mean "no event id" (SQLite stores NULL, DynamoDB omits the attribute). */
  eventId: unknown;
}

/**
 * Turns an entry as stored (JSON text or an already parsed value, e.g. from an export file) back into a
 * LogEntry. `seq` is where the store filed it, used to name the row when it is not an entry at all.
 *
 * Stored text must be exactly what a writer produces from the entry it holds (JSON.stringify or canonical JSON):
 * text with a key given twice parses to the last value here but to the first in other readers, so an entry with
 * duplicate keys (or any re-serialisation) is refused rather than hashed in one reading and shown in another.
 * When `columns` are given, they must agree with the entry.
 */
/** `stored` is the raw text, or (DynamoDB) the already-decoded item attribute. */
export function parseStoredEntry(stored: unknown, seq: number, columns?: StoredColumns): LogEntry {
  let value: unknown = stored;
  if (typeof stored === "string") {
    try {
      value = JSON.parse(stored);
    } catch (error) {
      throw new CorruptLogEntryError(`log entry stored at seq ${seq} is not valid JSON`, { seq, cause: error });
    }
  }
  const parsed = storedEntrySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join(".") : "(entry)";
    throw new CorruptLogEntryError(`log entry stored at seq ${seq} is not a log entry: ${field}: ${issue?.message ?? "invalid"}`, {
      seq,
      cause: parsed.error,
    });
  }
  if (typeof stored === "string" && stored !== JSON.stringify(value) && stored !== canonicalJson(value)) {
    throw new CorruptLogEntryError(
      `log entry stored at seq ${seq} is not as it was written: its JSON has a duplicated key or was re-serialised`,
      { seq },
    );
  }
  // Only the chain fields are checked; the hash check in verifyChain covers every other field.
  const entry = parsed.data as LogEntry;
  if (columns) checkStoredColumns(entry, seq, columns);
  return entry;
}

/** Throws CorruptLogEntryError unless the columns a store keeps beside the entry say what the entry says. */
export function checkStoredColumns(entry: LogEntry, seq: number, columns: StoredColumns): void {
  if (columns.hash !== entry.hash) {
    throw new CorruptLogEntryError(
      `log entry stored at seq ${seq}: the stored hash column ${JSON.stringify(columns.hash)} is not the entry's hash ${entry.hash}`,
      { seq },
    );
  }
  const columnEventId = columns.eventId === null || columns.eventId === "" ? undefined : columns.eventId;
  const entryEventId = entry.eventId === "" ? undefined : entry.eventId;
  if (columnEventId !== entryEventId) {
    throw new CorruptLogEntryError(
      `log entry stored at seq ${seq}: the stored event id column ${JSON.stringify(columnEventId ?? null)} is not the ` +
        `entry's event id ${JSON.stringify(entryEventId ?? null)}`,
      { seq },
    );
  }
}
