import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

/** Messages that fail this many receives move to the dead-letter queue instead of blocking the batch forever. */
export const MAX_RECEIVE_COUNT = 5;

/** AWS guidance for SQS event sources: the queue's visibility timeout is at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** SQS's maximum, so a failed message can still be inspected and redriven two weeks later. */
const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * Messages carry CloudTrail records and Slack actions: encrypted at rest with SQS-managed keys (EventBridge can
 * deliver to those without a key policy) and reachable only over TLS.
 */
export function encryptedQueue(scope: Construct, id: string, props: Omit<sqs.QueueProps, "encryption" | "enforceSSL"> = {}): sqs.Queue {
  return new sqs.Queue(scope, id, { ...props, encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true });
}

/** Raised as soon as one message is dead-lettered: each one is a change that was never checked or fixed. */
export function deadLetterAlarm(scope: Construct, id: string, deadLetterQueue: sqs.IQueue, description: string): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, {
    alarmDescription: description,
    metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: "Maximum" }),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

export interface WorkQueue {
  queue: sqs.Queue;
  deadLetterQueue: sqs.Queue;
  alarm: cloudwatch.Alarm;
}

export interface WorkQueueProps {
  /** The timeout of the function that consumes the queue. */
  consumerTimeout: Duration;
  description: string;
}

/** A queue consumed by a Lambda function, with its dead-letter queue and the alarm on it. */
export function workQueue(scope: Construct, id: string, props: WorkQueueProps): WorkQueue {
  const deadLetterQueue = encryptedQueue(scope, `${id}DeadLetter`, { retentionPeriod: DEAD_LETTER_RETENTION });
  const queue = encryptedQueue(scope, id, {
    visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
  });
  const alarm = deadLetterAlarm(scope, `${id}DeadLetterAlarm`, deadLetterQueue, `${props.description}: messages reached the dead-letter queue`);
  return { queue, deadLetterQueue, alarm };
}

/** What an SQS event source mapping needs from the function's role, on this queue only. */
export function consumeAccess(sid: string, queue: sqs.IQueue): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    effect: iam.Effect.ALLOW,
    actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
    resources: [queue.queueArn],
  });
}

export function sendAccess(sid: string, queue: sqs.IQueue): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, effect: iam.Effect.ALLOW, actions: ["sqs:SendMessage"], resources: [queue.queueArn] });
}
