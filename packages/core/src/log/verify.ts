import { describeAnchor, sortAnchors, type Anchor } from "./anchor";
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
  /** Set when an anchor caught it: the first anchor, in seq order, that the log no longer matches. */
  anchor?: Anchor;
}

export interface VerifyReport {
  ok: boolean;
  /** Entries verified good: all of them when ok, otherwise those before the first bad one. */
  checked: number;
  /** The last entry verified good: record it, and pass it back as `expectedHead` on the next verification. */
  head?: ChainLink;
  firstBad?: BadEntry;
  /** Present when anchors were given: how many the log was checked against, and the newest that it matches. */
  anchors?: AnchorSummary;
}

export interface AnchorSummary {
  /** Anchors given. */
  total: number;
  /** Anchors the log was found to match (all of them when ok). */
  matched: number;
  /** The matched anchor with the highest seq: everything up to it is proven unchanged since it was published. */
  latest?: Anchor;
}

export interface VerifyOptions {
  /**
   * A head recorded earlier (e.g. printed by a previous `verify`, or kept outside the store). A hash chain alone
   * cannot tell a log whose newest entries were deleted from a log that simply ended there, nor a log rewritten
   * from some entry onwards with freshly computed hashes: both are internally consistent. Checking that the entry
   * at `expectedHead.seq` still exists with `expectedHead.hash` catches both.
   */
  expectedHead?: ChainLink;
  /**
   * Chain heads published outside the log (see anchor.ts). Every one must still be in the log with the hash it
   * recorded; the report names the first, in seq order, that is not. With anchors, a deleted tail or a rewrite
   * with recomputed hashes is caught as far back as the newest anchor.
   */
  anchors?: readonly Anchor[];
}

/**
 * Verifies a chain read in order, in constant memory. Stops at the first bad entry, except that a gap in the
 * sequence reads on (still in constant memory) to tell a reordered log from one with deleted entries.
 *
 * Detected: an entry whose content does not match its hash (edited), a gap in seq (missing), an entry claiming a
 * seq that is already taken (inserted), entries out of seq order (reordered), and an entry whose prevHash is not
 * its predecessor's hash (broken-link: the predecessor was replaced, or this entry was forged).
 * Not detectable without `expectedHead` or `anchors`: deleting the newest entries, or rewriting everything from
 * some entry on. Anchors are held in memory (a few dozen bytes each); entries are streamed.
 */
export async function verifyChain(
  entries: AsyncIterable<LogEntry> | Iterable<LogEntry>,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const reader = new ChainReader(entries);
  try {
    return await walk(reader, expectationsOf(options));
  } finally {
    await reader.close();
  }
}

/** A recorded head the log must still contain: an anchor, or the caller's `expectedHead`. */
interface Expectation {
  link: ChainLink;
  anchor?: Anchor;
}

interface Expectations {
  /** In seq order. */
  expected: Expectation[];
  /** How many anchors were given; undefined when the caller gave no anchors option at all. */
  anchorCount: number | undefined;
}

function expectationsOf(options: VerifyOptions): Expectations {
  const expected: Expectation[] = sortAnchors(options.anchors ?? []).map((anchor) => ({ link: chainLink(anchor), anchor }));
  if (options.expectedHead) {
    const link = chainLink(options.expectedHead);
    // At the same seq, anchors are named before a bare expected head.
    const at = expected.findIndex((e) => e.link.seq > link.seq);
    expected.splice(at === -1 ? expected.length : at, 0, { link });
  }
  return { expected, anchorCount: options.anchors ? options.anchors.length : undefined };
}

async function walk(reader: ChainReader, { expected, anchorCount }: Expectations): Promise<VerifyReport> {
  let previous: LogEntry | undefined;
  let beforePrevious: LogEntry | undefined;
  let position = 0;
  /** expected[next] is the next recorded head to meet; those before it matched. */
  let next = 0;
  let latestMatched: Anchor | undefined;
  const summary = (): { anchors?: AnchorSummary } => {
    if (anchorCount === undefined) return {};
    const matched = expected.slice(0, next).filter((e) => e.anchor).length;
    return { anchors: { total: anchorCount, matched, ...(latestMatched ? { latest: latestMatched } : {}) } };
  };
  /** The report for a bad entry: the good prefix ends just before it. */
  const failed = (firstBad: BadEntry, lastGood: LogEntry | undefined): VerifyReport => ({
    ok: false,
    checked: firstBad.position,
    ...(lastGood ? { head: chainLink(lastGood) } : {}),
    firstBad,
    ...summary(),
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
    // The verified prefix is exactly seqs 1..entry.seq, so recorded heads are met in seq order.
    for (let expectation = expected[next]; expectation?.link.seq === entry.seq; expectation = expected[next]) {
      if (expectation.link.hash !== entry.hash) return failed(rewritten(expectation, entry, position, latestMatched), previous);
      if (expectation.anchor) latestMatched = expectation.anchor;
      next += 1;
    }
    beforePrevious = previous;
    previous = entry;
    position += 1;
  }

  const beyondTheEnd = expected[next];
  if (beyondTheEnd) return failed(truncated(beyondTheEnd, previous, position), previous);
  return { ok: true, checked: position, ...(previous ? { head: chainLink(previous) } : {}), ...summary() };
}

/** The log still has the recorded seq, but with another hash: rewritten from that entry or before. */
function rewritten(expectation: Expectation, entry: LogEntry, position: number, lastMatched: Anchor | undefined): BadEntry {
  const { seq, hash } = expectation.link;
  const source = expectation.anchor ? describeAnchor(expectation.anchor) : "the head recorded earlier";
  const since = lastMatched ? `, after seq ${lastMatched.seq} (${describeAnchor(lastMatched)} still matches)` : "";
  return {
    seq,
    position,
    problem: "edited",
    detail: `seq ${seq} now hashes to ${entry.hash}, but ${source} records ${hash}: the log was rewritten at or before seq ${seq}${since}`,
    ...(expectation.anchor ? { anchor: expectation.anchor } : {}),
  };
}

/** The log ends before a recorded seq: its newest entries were deleted. */
function truncated(expectation: Expectation, last: LogEntry | undefined, length: number): BadEntry {
  const source = expectation.anchor ? describeAnchor(expectation.anchor) : "the head recorded earlier";
  return {
    seq: expectation.link.seq,
    position: length,
    problem: "missing",
    detail: `the log ends at ${last ? `seq ${last.seq}` : "no entry"}, but ${source} records seq ${expectation.link.seq}: the newest entries were deleted`,
    ...(expectation.anchor ? { anchor: expectation.anchor } : {}),
  };
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
  const range = entry.seq - 1 === expectedSeq || otherSkippedShowUp ? `seq ${expectedSeq} is` : `seqs ${expectedSeq}-${entry.seq - 1} are`;
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
async function blameDuplicate(previous: LogEntry | undefined, entry: LogEntry, position: number, reader: ChainReader): Promise<BadEntry> {
  if (previous && previous.seq === entry.seq) {
    const successor = await reader.peek();
    const successorTrustsThisOne =
      successor.kind === "entry" && successor.entry.seq === entry.seq + 1 && successor.entry.prevHash === entry.hash;
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
