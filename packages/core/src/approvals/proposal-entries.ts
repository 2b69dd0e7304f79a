import type { LogEntry, LogStore } from "../log/port";
import type { Proposal } from "../proposals/proposal";

/**
 * The proposal's entries in chain order. A proposal from an event is found through the event's entries; one from a
 * sweep has no event, so the log is read through (rare: only for a proposal whose worker died).
 */
export async function proposalEntries(log: LogStore, proposal: Proposal): Promise<LogEntry[]> {
  const mine = (entry: LogEntry) => entry.proposalId === proposal.id;
  const eventId = proposal.finding.event?.id;
  if (eventId) return (await log.byEvent(eventId)).filter(mine);
  const entries: LogEntry[] = [];
  for await (const entry of log.read()) if (mine(entry)) entries.push(entry);
  return entries;
}
