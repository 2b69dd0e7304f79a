import type { LogDraft, LogEntry, LogStore } from "@hipaa-remediate/core";
import { overrideMethods } from "./override-methods";

/**
 * Called for each draft of a write: `before` ahead of the write (it may throw to refuse it, or hold it back by
 * returning a promise), `after` once it landed.
 */
export interface LogWriteHooks {
  before?(draft: LogDraft): void | Promise<void>;
  after?(entry: LogEntry): void;
}

/**
 * The log with hooks around every write, through `append` or `appendAll` alike, for fault injection (refuse the
 * write that holds a given stage, or kill the process once it has landed). A write of several entries is refused
 * or followed whole, as a store writes it. Safe to import from child processes (no vitest).
 */
export function interceptLogWrites(log: LogStore, hooks: LogWriteHooks): LogStore {
  const appendAll = async (drafts: readonly LogDraft[]): Promise<LogEntry[]> => {
    for (const draft of drafts) await hooks.before?.(draft);
    const entries = await log.appendAll(drafts);
    for (const entry of entries) hooks.after?.(entry);
    return entries;
  };
  return overrideMethods(log, {
    appendAll,
    async append(draft: LogDraft) {
      const [entry] = await appendAll([draft]);
      if (!entry) throw new Error("the log returned no entry for an append");
      return entry;
    },
  });
}
