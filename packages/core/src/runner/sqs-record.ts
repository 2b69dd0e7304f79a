import { parseSqsRecord } from "../events";
import type { EngineDeps } from "./deps";
import { errorFields } from "./log-fields";
import type { EventReport } from "./process-event";
import { processEvent } from "./process-event";
import { logUnusableInput } from "./unusable-input";

/**
 * Thrown for a message that can never be processed. The batch reports it as failed, so SQS retries it and,
 * after maxReceiveCount, moves it to the dead-letter queue, where it stays for a person to look at.
 */
export class RejectedMessageError extends Error {
  constructor(
    readonly messageId: string,
    readonly reason: string,
  ) {
    super(`message ${messageId} rejected: ${reason}`);
    this.name = "RejectedMessageError";
  }
}

/** Thrown when part of an event's handling failed; the record is retried, and finished parts are not redone. */
export class EventProcessingError extends Error {
  constructor(
    readonly eventId: string,
    readonly failures: number,
  ) {
    super(`event ${eventId}: ${failures} control(s) failed; the message will be retried`);
    this.name = "EventProcessingError";
  }
}

export interface SqsRecordLike {
  messageId: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}

/** One SQS record through the pipeline: parse, then the same processing as every other input. */
export async function handleSqsRecord(record: SqsRecordLike, deps: EngineDeps): Promise<EventReport | undefined> {
  const result = parseSqsRecord(record);
  switch (result.kind) {
    case "rejected":
      await logUnusableInput(result, deps, { receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? "1") });
      throw new RejectedMessageError(record.messageId, result.reason);
    case "ignored":
      await logUnusableInput(result, deps);
      return undefined;
    case "event": {
      const receiveCount = Number(record.attributes?.ApproximateReceiveCount);
      let report: EventReport;
      try {
        report = await processEvent(result.event, deps, Number.isInteger(receiveCount) ? { receiveCount } : {});
      } catch (error) {
        // Failures inside a control are logged where they happen; this is what ended the event before that (most
        // often the log refusing an entry). The batch reports the record failed and SQS retries it: say so and why.
        deps.logger.error("event handling stopped; the message will be retried", {
          eventId: result.event.id,
          messageId: record.messageId,
          receiveCount: record.attributes?.ApproximateReceiveCount,
          error: errorFields(error),
        });
        throw error;
      }
      // Access denied needs a person (a permission, the member role): redelivery would only repeat it.
      const retryable = report.failures - report.denied;
      if (retryable > 0) throw new EventProcessingError(report.eventId, retryable);
      return report;
    }
  }
}
