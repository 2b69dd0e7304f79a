import type { LogDraft, LogEntry } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { LocalEngine } from "../../packages/cli/src/local/engine";
import { storyDrafts, syntheticStories } from "./report-log";

/** `count` drafts as the engine writes them: findings over eight weeks, every control, every ending. */
export function largeLogDrafts(count: number): LogDraft[] {
  const all: LogDraft[] = [];
  // Every story writes at least three entries, so count / 3 stories are always enough.
  for (const story of syntheticStories(Math.ceil(count / 3), { end: new Date("2026-11-30T12:00:00Z"), weeks: 8, controls })) {
    all.push(...storyDrafts(story));
    if (all.length >= count) break;
  }
  return all.slice(0, count);
}

/**
 * Appends `count` entries through the engine's own store, each append a savepoint inside one transaction: the real
 * chain, without a commit per entry. append has no await before its synchronous insert, so every entry is written
 * while the transaction is open.
 */
export async function fillLargeLog(engine: LocalEngine, count: number): Promise<LogEntry[]> {
  const appendAll = engine.db.transaction((batch: LogDraft[]) => batch.map((draft) => engine.deps.log.append(draft)));
  return Promise.all(appendAll(largeLogDrafts(count)));
}
