import { entryHash } from "../log/chain";
import { GENESIS_HASH, STAGES, type LogEntry, type Stage } from "../log/entry";
import type { LogStore } from "../log/port";

/** What an auditor filters the log by. Text criteria match case-insensitively on a part of the value. */
export interface LogFilter {
  /** A HIPAA section the entry cites, e.g. `164.312(b)`. */
  section?: string;
  control?: string;
  /** Part of the resource ARN. */
  resource?: string;
  /** Part of the principal that made the change, or of the person who decided. */
  actor?: string;
  stage?: Stage;
  /** Entries at or after this time. */
  from?: Date;
  /** Entries before this time. */
  to?: Date;
}

/** Where a page sits: after a seq (forward, oldest first), before a seq (the page just before it), or the last page. */
export type LogPageCursor = { afterSeq?: number } | { beforeSeq: number } | { last: true };

export type LogPageRequest = LogPageCursor & {
  filter: LogFilter;
  limit: number;
  /**
   * Entries examined at most for this page, so a filter that matches rarely answers in bounded time; the page then
   * says where it stopped and the next request carries on from there.
   */
  scanBudget?: number;
};

export interface LogPage {
  entries: LogEntry[];
  /**
   * The cursor for the next page; absent when the log has nothing more that could match. A filtered page stops as
   * soon as it is full, so after a full filtered page the next one may turn out empty.
   */
  nextAfterSeq?: number;
  /** The cursor for the page before this one (`beforeSeq`); absent on the first page. */
  previousBeforeSeq?: number;
  /** Entries examined for this page. */
  scanned: number;
  /** True when the scan budget ran out before the page was full. */
  budgetExhausted: boolean;
}

export const DEFAULT_SCAN_BUDGET = 50_000;

/**
 * Entry times come from each appender's clock, so they rise with seq only up to clock skew between writers (Lambda
 * invocations, local processes). Seeking by time and stopping at `to` allow for this much of it.
 */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60_000;

/** Entries read per query while a filtered page walks backwards: a filter may match rarely. */
const BACKWARD_WINDOW = 250;

/**
 * One page of the log matching a filter, oldest first, read as a stream from a keyset cursor: nothing outside the
 * page's stretch of the log is read, and no more than the page (plus the scan budget) is held. Works on any LogStore
 * through `read({fromSeq, limit})`, so the local SQLite log and the deployed DynamoDB log page the same way. An
 * unfiltered page reads at most `limit + 1` entries (the one extra says whether a next page exists); a filtered one
 * stops as soon as it is full. With a `from` time the start is found by binary search on seq (entries are appended
 * in time order, up to clock skew), not by reading from the beginning.
 */
export async function queryLog(log: LogStore, request: LogPageRequest): Promise<LogPage> {
  if ("last" in request || "beforeSeq" in request) return queryLogBackwards(log, request);
  const { filter, limit } = request;
  const afterSeq = "afterSeq" in request ? (request.afterSeq ?? 0) : 0;
  const budget = request.scanBudget ?? DEFAULT_SCAN_BUDGET;
  const unfiltered = isUnfiltered(filter);
  let fromSeq = afterSeq + 1;
  if (filter.from) fromSeq = Math.max(fromSeq, await firstSeqAtOrAfter(log, new Date(filter.from.getTime() - CLOCK_SKEW_ALLOWANCE_MS)));
  const stopAfter = filter.to ? filter.to.getTime() + CLOCK_SKEW_ALLOWANCE_MS : Number.POSITIVE_INFINITY;
  const previous = afterSeq > 0 ? (first: LogEntry | undefined) => ({ previousBeforeSeq: first?.seq ?? afterSeq + 1 }) : () => ({});

  const entries: LogEntry[] = [];
  let scanned = 0;
  // The store is told how far the page can go, so it never fetches rows the page will not look at.
  for await (const entry of log.read({ fromSeq, limit: unfiltered ? limit + 1 : budget })) {
    if (Date.parse(entry.at) >= stopAfter) break;
    if (unfiltered && entries.length === limit)
      return { entries, nextAfterSeq: lastMatchSeq(entries), ...previous(entries[0]), scanned, budgetExhausted: false };
    if (entryMatches(entry, filter)) entries.push(entry);
    scanned += 1;
    if (!unfiltered && entries.length === limit)
      return { entries, nextAfterSeq: entry.seq, ...previous(entries[0]), scanned, budgetExhausted: false };
    if (scanned >= budget) return { entries, nextAfterSeq: entry.seq, ...previous(entries[0]), scanned, budgetExhausted: true };
  }
  return { entries, ...previous(entries[0]), scanned, budgetExhausted: false };
}

/**
 * The page that ends just before `beforeSeq`, or the last page: the log is read in windows walking back from the
 * end, each window one ascending `read`, so no store needs a descending read. Sequence numbers are dense (the chain
 * has no gaps), which lets an unfiltered page read exactly its `limit` entries.
 */
async function queryLogBackwards(log: LogStore, request: LogPageRequest & ({ beforeSeq: number } | { last: true })): Promise<LogPage> {
  const { filter, limit } = request;
  const budget = request.scanBudget ?? DEFAULT_SCAN_BUDGET;
  const unfiltered = isUnfiltered(filter);
  const head = await log.head();
  if (!head) return { entries: [], scanned: 0, budgetExhausted: false };
  const requestedEnd = "beforeSeq" in request ? request.beforeSeq : head.seq + 1;
  let end = Math.min(requestedEnd, head.seq + 1);
  if (filter.to) end = Math.min(end, await firstSeqAtOrAfter(log, new Date(filter.to.getTime() + CLOCK_SKEW_ALLOWANCE_MS)));
  const lowest = filter.from ? await firstSeqAtOrAfter(log, new Date(filter.from.getTime() - CLOCK_SKEW_ALLOWANCE_MS)) : 1;
  const window = unfiltered ? limit : Math.max(limit, BACKWARD_WINDOW);

  let matches: LogEntry[] = [];
  let scanned = 0;
  while (end > lowest && matches.length < limit && scanned < budget) {
    const start = Math.max(lowest, end - window, end - (budget - scanned));
    const found: LogEntry[] = [];
    for await (const entry of log.read({ fromSeq: start, limit: end - start })) {
      scanned += 1;
      if (entryMatches(entry, filter)) found.push(entry);
    }
    matches = [...found, ...matches];
    end = start;
  }
  const entries = matches.slice(-limit);
  const earlierMayMatch = matches.length > limit || end > lowest;
  const budgetExhausted = matches.length < limit && end > lowest;
  const previousBeforeSeq = earlierMayMatch ? (entries[0]?.seq ?? end) : undefined;
  const nextAfterSeq = "beforeSeq" in request && requestedEnd <= head.seq ? (entries.at(-1)?.seq ?? requestedEnd - 1) : undefined;
  return {
    entries,
    ...(nextAfterSeq !== undefined ? { nextAfterSeq } : {}),
    ...(previousBeforeSeq !== undefined ? { previousBeforeSeq } : {}),
    scanned,
    budgetExhausted,
  };
}

function isUnfiltered(filter: LogFilter): boolean {
  return Object.values(filter).every((value) => value === undefined);
}

function lastMatchSeq(entries: readonly LogEntry[]): number {
  return entries.at(-1)?.seq ?? 0;
}

export function entryMatches(entry: LogEntry, filter: LogFilter): boolean {
  if (filter.stage && entry.stage !== filter.stage) return false;
  if (filter.control && entry.control !== filter.control) return false;
  if (filter.section && !entry.hipaa?.includes(filter.section)) return false;
  if (filter.resource && !contains(entry.resource?.arn, filter.resource)) return false;
  if (
    filter.actor &&
    !contains(entry.actor, filter.actor) &&
    !contains(entry.decidedBy?.name, filter.actor) &&
    !contains(entry.decidedBy?.id, filter.actor)
  ) {
    return false;
  }
  const at = Date.parse(entry.at);
  if (filter.from && !(at >= filter.from.getTime())) return false;
  if (filter.to && !(at < filter.to.getTime())) return false;
  return true;
}

function contains(value: string | undefined, part: string): boolean {
  return value !== undefined && value.toLowerCase().includes(part.toLowerCase());
}

/** The smallest seq whose entry is at or after `time` (one past the head when none is), in O(log n) single reads. */
async function firstSeqAtOrAfter(log: LogStore, time: Date): Promise<number> {
  const head = await log.head();
  if (!head) return 1;
  let low = 1;
  let high = head.seq + 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const entry = await firstEntryFrom(log, middle);
    if (!entry || Date.parse(entry.at) >= time.getTime()) high = middle;
    else low = middle + 1;
  }
  return low;
}

async function firstEntryFrom(log: LogStore, seq: number): Promise<LogEntry | undefined> {
  for await (const entry of log.read({ fromSeq: seq, limit: 1 })) return entry;
  return undefined;
}

/** One entry with the entries either side of it, and whether its own hash and its link to the previous one hold. */
export interface EntryInContext {
  entry: LogEntry;
  previous?: LogEntry;
  next?: LogEntry;
  /** The entry's content still hashes to its recorded `hash`. */
  hashMatches: boolean;
  /** Its `prevHash` is the previous entry's `hash` (the genesis hash for seq 1). */
  linksToPrevious: boolean;
}

export async function entryInContext(log: LogStore, seq: number): Promise<EntryInContext | undefined> {
  const around: LogEntry[] = [];
  for await (const entry of log.read({ fromSeq: Math.max(1, seq - 1), limit: seq > 1 ? 3 : 2 })) around.push(entry);
  const index = around.findIndex((entry) => entry.seq === seq);
  const entry = around[index];
  if (!entry) return undefined;
  const previous = index > 0 ? around[index - 1] : undefined;
  const next = around[index + 1];
  return {
    entry,
    ...(previous ? { previous } : {}),
    ...(next ? { next } : {}),
    hashMatches: entryHash(entry) === entry.hash,
    linksToPrevious: entry.prevHash === (previous ? previous.hash : seq === 1 ? GENESIS_HASH : undefined),
  };
}

export function isStage(value: string): value is Stage {
  return (STAGES as readonly string[]).includes(value);
}
