import { logUnusableInput, processEvent, readChangeEvents, type EngineDeps, type FindingReport, type IngestResult } from "@hipaa-remediate/core";
import type { ProgressReporter } from "./progress";
import { countEvent, emptySummary, type ReplaySummary } from "./summary";

/** Where replay results go: the jsonl writer, the table writer, or a test. */
export interface ReplaySink {
  finding(finding: FindingReport): Promise<void> | void;
  rejected(input: { source: string; reason: string }): Promise<void> | void;
  ignored(input: { source: string; reason: string; eventId?: string }): Promise<void> | void;
  summary(summary: ReplaySummary): Promise<void> | void;
}

/**
 * Replays CloudTrail data through the engine pipeline, one record at a time (inputs are streamed, never
 * loaded whole). Every record ends as a change, an ignored input or a rejected one, and is counted.
 */
export async function runReplay(
  inputs: string[],
  deps: EngineDeps,
  sink: ReplaySink,
  progress: ProgressReporter,
  batch?: { tick(): void; finish(): void },
): Promise<ReplaySummary> {
  const started = performance.now();
  const summary = emptySummary();
  const onProgress = (p: { bytes: number; records: number; files: number }) => {
    summary.bytes = p.bytes;
    summary.files = p.files;
    progress.update({ ...p, records: summary.records });
  };
  try {
    for await (const result of readChangeEvents(inputs, { onProgress })) {
      batch?.tick();
      await replayOne(result);
    }
  } finally {
    batch?.finish();
  }
  progress.done();
  summary.durationMs = Math.round(performance.now() - started);
  await sink.summary(summary);
  return summary;

  async function replayOne(result: IngestResult): Promise<void> {
    switch (result.kind) {
      case "rejected":
        summary.records += 1;
        summary.rejected += 1;
        await logUnusableInput(result, deps);
        await sink.rejected({ source: result.source, reason: result.reason });
        break;
      case "ignored":
        summary.records += 1;
        summary.ignored += 1;
        await logUnusableInput(result, deps);
        await sink.ignored({ source: result.source, reason: result.reason, ...(result.eventId ? { eventId: result.eventId } : {}) });
        break;
      case "event": {
        const report = await processEvent(result.event, deps);
        countEvent(summary, report);
        if (report.status === "ignored") {
          await sink.ignored({ source: result.event.origin, reason: report.reason ?? "ignored", eventId: report.eventId });
        }
        for (const finding of report.findings) await sink.finding(finding);
        break;
      }
    }
  }
}
