import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { ChangeEvent } from "../events/change-event";
import { recheckEnvelope } from "../events/recheck-envelope";

/** SQS delays a message by at most 15 minutes; a longer settle time is cut to this. */
export const MAX_DEFER_SECONDS = 900;

/** How many times one event is looked at again before the engine decides on whatever state it then sees. */
export const MAX_RECHECKS = 3;

/**
 * Where the runner sends an event to be processed again later, instead of waiting inside the batch. The event
 * passed in already carries its next re-check pass (`event.recheck`).
 */
export interface DeferralQueue {
  defer(event: ChangeEvent, afterSeconds: number): Promise<void>;
}

/** The delay to ask for: whole seconds, at least 1, at most SQS's 900. */
export function deferralDelaySeconds(afterSeconds: number): number {
  return Math.min(MAX_DEFER_SECONDS, Math.max(1, Math.ceil(afterSeconds)));
}

export class DeferralError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DeferralError";
  }
}

/** Deployed: the event goes back to the engine's own queue with SQS `DelaySeconds`. */
export class SqsDeferralQueue implements DeferralQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async defer(event: ChangeEvent, afterSeconds: number): Promise<void> {
    const body = JSON.stringify(recheckEnvelope(event, event.recheck ?? 1));
    try {
      await this.sqs.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body, DelaySeconds: deferralDelaySeconds(afterSeconds) }),
      );
    } catch (error) {
      throw new DeferralError(`could not re-queue event ${event.id} for a re-check`, { cause: error });
    }
  }
}
