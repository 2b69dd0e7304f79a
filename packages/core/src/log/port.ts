import type { LogDraft, LogEntry, Stage } from "./entry";

export interface ReadOptions {
  /** First sequence number to return (inclusive). */
  fromSeq?: number;
  limit?: number;
}

/**
 * The append-only remediation log. Adapters must make `append` atomic with respect to the chain: concurrent
 * appenders never fork it and never lose an entry. An adapter may remember the head between appends (to save a
 * read per entry) only if its write fails whenever that head is no longer the newest entry.
 */
export interface LogStore {
  append(draft: LogDraft): Promise<LogEntry>;
  /**
   * Appends the drafts as consecutive entries, in order, in as few writes as the store can make (one for the
   * entries of one unit of work). When it fails, what was written is a prefix of them, possibly none; other
   * appenders' entries never come between them.
   */
  appendAll(drafts: readonly LogDraft[]): Promise<LogEntry[]>;
  /** Entries in chain order. */
  read(options?: ReadOptions): AsyncIterable<LogEntry>;
  head(): Promise<LogEntry | undefined>;
  /** Entries about one event, in order. Used by tests, the CLI and idempotency checks. */
  byEvent(eventId: string): Promise<LogEntry[]>;
  close(): Promise<void>;
}

export type { LogDraft, LogEntry, Stage };
