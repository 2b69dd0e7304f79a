import {
  InputPathError,
  logUnusableInput,
  processEvent,
  readScreenedChangeEventBatches,
  type ChangeEvent,
  type EngineDeps,
  type FindingReport,
  type IgnoredResult,
  type InProcessDeferralQueue,
  type IngestResult,
  type ScreenedCall,
} from "@hipaa-remediate/core";
import { IgnoredTally } from "./ignored-tally";
import type { ProgressReporter } from "./progress";
import { countEvent, countRecheck, countUnmatched, emptySummary, type ReplaySummary } from "./summary";

/** Where replay results go: the jsonl writer, the table writer, or a test. */
export interface ReplaySink {
  finding(finding: FindingReport): Promise<void> | void;
  rejected(input: { source: string; reason: string }): Promise<void> | void;
  ignored(input: { source: string; reason: string; eventId?: string }): Promise<void> | void;
  summary(summary: ReplaySummary): Promise<void> | void;
}

/** Why a run stopped early, for the summary line: the message of an input error, the class and message of a fault. */
function abortReason(error: unknown): string {
  if (error instanceof InputPathError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Replays CloudTrail data through the engine pipeline, one record at a time (inputs are streamed, never
 * loaded whole). Every record ends as a change, an ignored input or a rejected one, and is counted.
 * A run that stops early (an input path that cannot be read, found mid-way; a fault) still writes every
 * result it produced and a summary saying it was aborted and why, then rethrows, so the exit code says so too.
 */
export async function runReplay(
  inputs: string[],
  deps: EngineDeps,
  sink: ReplaySink,
  progress: ProgressReporter,
  batch?: { tick(): void; finish(): void },
  /** Live: events a control asked to look at again, re-run at the end once due. */
  deferrals?: InProcessDeferralQueue,
): Promise<ReplaySummary> {
  const started = performance.now();
  const summary = emptySummary();
  const onProgress = (p: { bytes: number; records: number; files: number }) => {
    summary.bytes = p.bytes;
    summary.files = p.files;
    progress.update({ ...p, records: summary.records });
  };
  const ignoredTally = new IgnoredTally(deps);
  const listens = (call: ScreenedCall) => deps.index.listensTo(call);
  let failure: { error: unknown } | undefined;
  try {
    for await (const results of readScreenedChangeEventBatches(inputs, listens, { onProgress })) {
      for (const result of results) {
        batch?.tick();
        // Most records are calls no control listens to (reads, mostly). The engine would only answer "unmatched",
        // logging nothing: the reader screens them out unbuilt (a record inside an SQS message comes built) and
        // they are counted here, with no trip through the engine. Ignored ones wait only to flush output.
        if (result.kind === "unmatched" || (result.kind === "event" && !deps.index.listensTo(result.event))) {
          countUnmatched(summary);
        } else if (result.kind === "ignored") {
          const pending = replayIgnored(result);
          if (pending) await pending;
        } else {
          await replayOne(result);
        }
      }
    }
    // Waiting for the re-checks to be due is fine locally: the run ends when every deferred event is decided.
    if (deferrals) await deferrals.drain(recheckOne);
  } catch (error) {
    failure = { error };
  }
  try {
    // An aborted run keeps its tally too: every record it read is in the log.
    await ignoredTally.flush();
  } catch (error) {
    failure ??= { error };
  } finally {
    batch?.finish();
  }
  progress.done();
  summary.durationMs = Math.round(performance.now() - started);
  if (failure) {
    summary.aborted = true;
    summary.abortReason = abortReason(failure.error);
  }
  await sink.summary(summary);
  if (failure) throw failure.error;
  return summary;

  async function recheckOne(event: ChangeEvent): Promise<void> {
    const report = await processEvent(event, deps);
    countRecheck(summary, report);
    for (const finding of report.findings) await sink.finding(finding);
  }

  /** Synchronous unless the tally logs a finished file or the output has to drain: a promise only then. */
  function replayIgnored(result: IgnoredResult): Promise<void> | undefined {
    summary.records += 1;
    summary.ignored += 1;
    const tallied = ignoredTally.add(result);
    const line = { source: result.source, reason: result.reason, ...(result.eventId ? { eventId: result.eventId } : {}) };
    if (tallied) return tallied.then(() => sink.ignored(line));
    return sink.ignored(line) ?? undefined;
  }

  async function replayOne(result: IngestResult): Promise<void> {
    switch (result.kind) {
      case "rejected":
        summary.records += 1;
        summary.rejected += 1;
        await logUnusableInput(result, deps);
        await sink.rejected({ source: result.source, reason: result.reason });
        break;
      case "ignored":
        await replayIgnored(result);
        break;
      case "event": {
        const report = await processEvent(result.event, deps);
        countEvent(summary, report);
        if (report.status === "ignored") {
          await sink.ignored({ source: result.event.origin, reason: report.reason ?? "ignored", eventId: report.eventId });
        }
        // Outside the policy's scope: counted as rejected, so stdout says so, as the log does.
        if (report.status === "rejected") await sink.rejected({ source: result.event.origin, reason: report.reason ?? "rejected" });
        for (const finding of report.findings) await sink.finding(finding);
        break;
      }
    }
  }
}
