import { chainLink, entryHash, type ChainLink } from "./chain";
import { GENESIS_HASH, type LogEntry } from "./entry";
import { CorruptLogEntryError } from "./errors";

export type ChainProblem = "edited" | "missing" | "inserted" | "reordered" | "broken-link";

export interface BadEntry {
  /** The seq the bad entry claims (or, for a missing entry, the seq of the entry found in its place). */
  seq: number;
  /** 0-based position in the stream that was verified. */
  position: number;
  problem: ChainProblem;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  /** Entries verified good: all of them when ok, otherwise those before the first bad one. */
  checked: number;
  /** The last entry verified good: record it, and pass it back as `expectedHead` on the next verification. */
  head?: ChainLink;
  firstBad?: BadEntry;
}

export interface VerifyOptions {
  /**
   * A head recorded earlier (e.g. printed by a previous `verify`, or kept outside the store). A hash chain alone
   * cannot tell a log whose newest entries were deleted from a log that simply ended there, nor a log rewritten
   * from some entry onwards with freshly computed hashes: both are internally consistent. Checking that the entry
   * at `expectedHead.seq` still exists with `expectedHead.hash` catches both.
   */
  expectedHead?: ChainLink;
}

/**
 * Verifies a chain read in order, in constant memory. Stops at the first bad entry, except that a gap in the
 * sequence reads on (still in constant memory) to tell a reordered log from one with deleted entries.
 *
 * Detected: an entry whose content does not match its hash (edited), a gap in seq (missing), an entry claiming a
 * seq that is already taken (inserted), entries out of seq order (reordered), and an entry whose prevHash is not
 * its predecessor's hash (broken-link: the predecessor was replaced, or this entry was forged).
 * Not detectable without `expectedHead`: deleting the newest entries, or rewriting everything from some entry on.
 */
export async function verifyChain(
  entries: AsyncIterable<LogEntry> | Iterable<LogEntry>,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const reader = new ChainReader(entries);
  try {
    return await walk(reader, options.expectedHead);
  } finally {
    await reader.close();
  }
}

async function walk(reader: ChainReader, expectedHead: ChainLink | undefined): Promise<VerifyReport> {
  let previous: LogEntry | undefined;
  let beforePrevious: LogEntry | undefined;
  let position = 0;
  let atExpectedHead: ExpectedHeadSighting | undefined;
  /** The report for a bad entry: the good prefix ends just before it. */
  const failed = (firstBad: BadEntry, lastGood: LogEntry | undefined): VerifyReport => ({
    ok: false,
    checked: firstBad.position,
    ...(lastGood ? { head: chainLink(lastGood) } : {}),
    firstBad,
  });

  for (;;) {
    const read = await reader.next();
    if (read.kind === "end") break;
    if (read.kind === "corrupt") {
      return failed({ seq: read.error.seq, position, problem: "edited", detail: read.error.message }, previous);
    }
    const entry = read.entry;
    const bad = await diagnose(previous, entry, position, reader);
    // blameDuplicate may name the previous entry, whose own predecessor is then the last good one.
    if (bad) return failed(bad, bad.position === position ? previous : beforePrevious);
    if (expectedHead && entry.seq === expectedHead.seq) atExpectedHead = { hash: entry.hash, position, previous };
    beforePrevious = previous;
    previous = entry;
    position += 1;
  }

  if (expectedHead) {
    const headProblem = checkExpectedHead(expectedHead, atExpectedHead, previous, position);
    if (headProblem) return failed(headProblem, headProblem.position === position ? previous : atExpectedHead?.previous);
  }
  return { ok: true, checked: position, ...(previous ? { head: chainLink(previous) } : {}) };
}

/** Where the entry named by `expectedHead` was seen, and the entry before it. */
interface ExpectedHeadSighting {
  hash: string;
  position: number;
  previous: LogEntry | undefined;
}

async function diagnose(
  previous: LogEntry | undefined,
  entry: LogEntry,
  position: number,
  reader: ChainReader,
): Promise<BadEntry | undefined> {
  const computed = entryHash(entry);
  if (computed !== entry.hash) {
    return {
      seq: entry.seq,
      position,
      problem: "edited",
      detail: `seq ${entry.seq} was altered: its content hashes to ${computed}, but it records ${entry.hash}`,
    };
  }
  const expectedSeq = previous ? previous.seq + 1 : 1;
  if (entry.seq === expectedSeq) {
    const expectedPrevHash = previous ? previous.hash : GENESIS_HASH;
    if (entry.prevHash === expectedPrevHash) return undefined;
    return {
      seq: entry.seq,
      position,
      problem: "broken-link",
      detail: previous
        ? `seq ${entry.seq} does not link to seq ${previous.seq}: its prevHash is ${entry.prevHash}, but seq ` +
          `${previous.seq} hashes to ${previous.hash}; one of the two was replaced`
        : `seq 1 must link to the genesis hash, but its prevHash is ${entry.prevHash}`,
    };
  }
  if (entry.seq > expectedSeq) return classifyGap(previous, entry, expectedSeq, position, reader);
  // Every seq below expectedSeq was already accepted (the verified prefix is exactly 1..previous.seq).
  return blameDuplicate(previous, entry, position, reader);
}

/** A seq was skipped: either it shows up later (reordered) or it is gone (missing). */
async function classifyGap(
  previous: LogEntry | undefined,
  entry: LogEntry,
  expectedSeq: number,
  position: number,
  reader: ChainReader,
): Promise<BadEntry> {
  let belongingHere: number | undefined;
  let otherSkippedShowUp = false;
  for await (const [later, offset] of reader.rest()) {
    if (later.seq === expectedSeq) {
      belongingHere = position + offset;
      break;
    }
    if (later.seq > expectedSeq && later.seq < entry.seq) otherSkippedShowUp = true;
  }
  if (belongingHere !== undefined) {
    return {
      seq: entry.seq,
      position,
      problem: "reordered",
      detail: `seq ${entry.seq} is at position ${position}, where seq ${expectedSeq} belongs; seq ${expectedSeq} appears later, at position ${belongingHere}`,
    };
  }
  const range =
    entry.seq - 1 === expectedSeq || otherSkippedShowUp
      ? `seq ${expectedSeq} is`
      : `seqs ${expectedSeq}-${entry.seq - 1} are`;
  return {
    seq: entry.seq,
    position,
    problem: "missing",
    detail: `${range} missing: ${previous ? `seq ${previous.seq}` : "the start of the log"} is followed by seq ${entry.seq}`,
  };
}

/**
 * Two entries claim the same seq. When they are adjacent, the successor tells which one is genuine: it links to
 * the genuine entry's hash, so the other one is the insertion.
 */
async function blameDuplicate(
  previous: LogEntry | undefined,
  entry: LogEntry,
  position: number,
  reader: ChainReader,
): Promise<BadEntry> {
  if (previous && previous.seq === entry.seq) {
    const successor = await reader.peek();
    const successorTrustsThisOne =
      successor.kind === "entry" &&
      successor.entry.seq === entry.seq + 1 &&
      successor.entry.prevHash === entry.hash;
    if (successorTrustsThisOne) {
      return {
        seq: previous.seq,
        position: position - 1,
        problem: "inserted",
        detail: `seq ${previous.seq} appears twice (positions ${position - 1} and ${position}); seq ${entry.seq + 1} links to the second, so the first was inserted`,
      };
    }
  }
  return {
    seq: entry.seq,
    position,
    problem: "inserted",
    detail: `seq ${entry.seq} appears again at position ${position}, after seq ${previous?.seq ?? 0}: an entry was inserted or copied`,
  };
}

function checkExpectedHead(
  expectedHead: ChainLink,
  found: ExpectedHeadSighting | undefined,
  last: LogEntry | undefined,
  length: number,
): BadEntry | undefined {
  if (!found) {
    return {
      seq: expectedHead.seq,
      position: length,
      problem: "missing",
      detail: `the log ends at ${last ? `seq ${last.seq}` : "no entry"}, but seq ${expectedHead.seq} was recorded as its head earlier: the newest entries were deleted`,
    };
  }
  if (found.hash === expectedHead.hash) return undefined;
  return {
    seq: expectedHead.seq,
    position: found.position,
    problem: "edited",
    detail: `seq ${expectedHead.seq} now hashes to ${found.hash}, but ${expectedHead.hash} was recorded earlier: the log was rewritten from this entry or before`,
  };
}

type Read = { kind: "entry"; entry: LogEntry } | { kind: "corrupt"; error: CorruptLogEntryError } | { kind: "end" };

/** An iterator with one entry of look-ahead that turns a store's CorruptLogEntryError into a finding. */
class ChainReader {
  private readonly iterator: AsyncIterator<LogEntry> | Iterator<LogEntry>;
  private buffered: Read | undefined;

  constructor(entries: AsyncIterable<LogEntry> | Iterable<LogEntry>) {
    this.iterator = Symbol.asyncIterator in entries ? entries[Symbol.asyncIterator]() : entries[Symbol.iterator]();
  }

  async next(): Promise<Read> {
    const read = this.buffered ?? (await this.pull());
    this.buffered = undefined;
    return read;
  }

  async peek(): Promise<Read> {
    this.buffered ??= await this.pull();
    return this.buffered;
  }

  /** The remaining entries, each with its offset from the entry last returned by next(); stops at a corrupt row. */
  async *rest(): AsyncGenerator<[LogEntry, number]> {
    for (let offset = 1; ; offset += 1) {
      const read = await this.next();
      if (read.kind !== "entry") return;
      yield [read.entry, offset];
    }
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }

  private async pull(): Promise<Read> {
    try {
      const result = await this.iterator.next();
      return result.done ? { kind: "end" } : { kind: "entry", entry: result.value };
    } catch (error) {
      if (error instanceof CorruptLogEntryError) return { kind: "corrupt", error };
      throw error;
    }
  }
}
