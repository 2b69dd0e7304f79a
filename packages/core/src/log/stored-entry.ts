import { z } from "zod";
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
 * Turns an entry as stored (JSON text or an already parsed value, e.g. from an export file) back into a
 * LogEntry. `seq` is where the store filed it, used to name the row when it is not an entry at all.
 */
export function parseStoredEntry(stored: string | unknown, seq: number): LogEntry {
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
    throw new CorruptLogEntryError(
      `log entry stored at seq ${seq} is not a log entry: ${field}: ${issue?.message ?? "invalid"}`,
      { seq, cause: parsed.error },
    );
  }
  // Only the chain fields are checked; the hash check in verifyChain covers every other field.
  return parsed.data as LogEntry;
}
