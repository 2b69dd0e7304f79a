import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";

export type SqsBatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** An SQS message as Lambda's event source mapping hands it to the handler. */
export function lambdaSqsRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "AIDAEXAMPLE",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(":")[3] ?? "us-east-1",
  };
}

/**
 * Does what Lambda's SQS event source mapping does with ReportBatchItemFailures: receive a batch, invoke the
 * handler, delete the records it did not report as failed, and make the failed ones visible again so they
 * are retried (and, past maxReceiveCount, moved to the DLQ by SQS's redrive policy).
 */
export async function pumpQueue(
  sqs: SQSClient,
  queue: { url: string; arn: string },
  handler: SqsBatchHandler,
  options: { maxRounds?: number } = {},
): Promise<{ invocations: number; succeeded: number; failed: number }> {
  const stats = { invocations: 0, succeeded: 0, failed: 0 };
  for (let round = 0; round < (options.maxRounds ?? 20); round++) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ["All"],
        WaitTimeSeconds: 0,
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) break;
    const event: SQSEvent = { Records: messages.map((m) => lambdaSqsRecord(m, queue.arn)) };
    stats.invocations += 1;
    const response = await handler(event);
    const failedIds = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const succeeded = messages.filter((m) => !failedIds.has(m.MessageId ?? ""));
    const failed = messages.filter((m) => failedIds.has(m.MessageId ?? ""));
    stats.succeeded += succeeded.length;
    stats.failed += failed.length;
    if (succeeded.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: succeeded.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? "" })),
        }),
      );
    }
    if (failed.length > 0) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queue.url,
          Entries: failed.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? "", VisibilityTimeout: 0 })),
        }),
      );
    }
  }
  return stats;
}
