import { canonicalJson, sha256Hex } from "../support/json";
import { GENESIS_HASH, type LogDraft, type LogEntry } from "./entry";

/*
 * How the chain is built (auditors and other tools re-implement this, so it is stated exactly):
 *
 *   hash(entry)     = hex(SHA-256(UTF-8(canonicalJson(entry without its "hash" field))))
 *   entry.prevHash  = previous.hash            (GENESIS_HASH, 64 zeros, for seq 1)
 *   entry.seq       = previous.seq + 1         (1 for the first entry)
 *
 * canonicalJson is RFC 8785 (JCS). Because `hash` covers `seq` and `prevHash`, `prevHash` is also the SHA-256 of
 * the canonical JSON of the previous entry minus that entry's own `hash` field: changing any byte of any entry
 * changes its hash and breaks the link from its successor. Fields whose value is `undefined` are not part of an
 * entry (they vanish in JSON), so entries are normalised through a JSON round trip before hashing: the stored
 * text, the object returned to the caller and any later re-parse all hash the same.
 */

/** The part of an entry that places it in the chain. */
export interface ChainLink {
  seq: number;
  hash: string;
}

/** The SHA-256 of an entry as defined above; a stored `hash` field, if present, is ignored. */
export function entryHash(entry: Omit<LogEntry, "hash"> & { hash?: string }): string {
  const { hash: _storedHash, ...covered } = entry;
  return sha256Hex(canonicalJson(covered));
}

/** The entry that follows `previous` (none for the first entry). Pure: the caller makes the append atomic. */
export function nextEntry(previous: ChainLink | undefined, draft: LogDraft): LogEntry {
  // A LogEntry is also a LogDraft structurally; never let a caller's chain fields leak into the new entry.
  const { seq: _seq, prevHash: _prevHash, hash: _hash, ...content } = draft as LogDraft & Partial<LogEntry>;
  const unhashed = jsonRoundTrip({
    ...content,
    seq: previous ? previous.seq + 1 : 1,
    prevHash: previous ? previous.hash : GENESIS_HASH,
  });
  return { ...unhashed, hash: entryHash(unhashed) };
}

/** The entry of a one-draft appendAll: stores implement `append` as that. */
export function onlyEntry(entries: readonly LogEntry[]): LogEntry {
  const [entry] = entries;
  if (entries.length !== 1 || !entry) throw new Error(`expected the one entry appended, got ${entries.length}`);
  return entry;
}

export function chainLink(entry: ChainLink): ChainLink {
  return { seq: entry.seq, hash: entry.hash };
}

/** JSON.stringify drops undefined fields and turns Dates into strings, exactly as storage will. */
function jsonRoundTrip<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
