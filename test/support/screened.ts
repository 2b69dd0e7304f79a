import type { IngestResult, ListenScreen, ScreenedResult } from "@hipaa-remediate/core";

/**
 * What a reader given `listens` must yield where the full reader yields `result`: the same result, except that a
 * change the screen turns down is `unmatched` at the same place. Shared by the ingest tests and the fuzzer.
 */
export function expectedScreenedResult(result: IngestResult, listens: ListenScreen): ScreenedResult {
  if (result.kind !== "event") return result;
  const { event } = result;
  const call = { source: event.source, name: event.name, actor: { type: event.actor.type }, eventType: event.eventType };
  return listens(call) ? result : { kind: "unmatched", source: event.origin };
}
