import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { anyOccurrenceAlarm, encryptionKeyFor, notifyingAlarm } from "./operations";

/** Messages that fail this many receives move to the dead-letter queue instead of blocking the batch forever. */
export const MAX_RECEIVE_COUNT = 5;

/** AWS guidance for SQS event sources: the queue's visibility timeout is at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/**
 * SQS's maximum, for every queue: an outage nobody noticed for days must not expire events before they are
 * processed or dead-lettered, and a dead-lettered message can still be inspected and redriven two weeks later.
 */
export const MESSAGE_RETENTION = Duration.days(14);

/**
 * Messages carry CloudTrail records and Slack actions: encrypted at rest, with SQS-managed keys (EventBridge can
 * deliver to those without a key policy) or the deployment's customer-managed key, and reachable only over TLS.
 */
export function encryptedQueue(
  scope: Construct,
  id: string,
  props: Omit<sqs.QueueProps, "encryption" | "encryptionMasterKey" | "enforceSSL"> = {},
): sqs.Queue {
  const key = encryptionKeyFor(scope);
  const encryption = key
    ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key }
    : { encryption: sqs.QueueEncryption.SQS_MANAGED };
  return new sqs.Queue(scope, id, { retentionPeriod: MESSAGE_RETENTION, ...props, ...encryption, enforceSSL: true });
}

/** Raised as soon as one message is dead-lettered: each one is a change that was never checked or fixed. */
export function deadLetterAlarm(scope: Construct, id: string, deadLetterQueue: sqs.IQueue, description: string): cloudwatch.Alarm {
  const metric = deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: "Maximum" });
  return anyOccurrenceAlarm(scope, id, metric, description);
}

/** How old the oldest waiting event may get before someone should look: the engine is stuck or far behind. */
export const OLDEST_MESSAGE_ALARM_AGE = Duration.minutes(30);

export function oldestMessageAlarm(scope: Construct, id: string, queue: sqs.IQueue, description: string): cloudwatch.Alarm {
  return notifyingAlarm(scope, id, {
    alarmDescription: description,
    metric: queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: "Maximum" }),
    threshold: OLDEST_MESSAGE_ALARM_AGE.toSeconds(),
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

/**
 * Where Lambda records an asynchronous (scheduled) invocation that failed, with an alarm on the first one: a
 * failed sweep, housekeeping or audit run otherwise only shows in its logs.
 */
export function failedRunsQueue(scope: Construct, id: string, description: string): sqs.Queue {
  const queue = encryptedQueue(scope, id);
  deadLetterAlarm(scope, `${id}Alarm`, queue, `${description}: a scheduled run failed (its event is in the queue)`);
  return queue;
}

export interface WorkQueue {
  queue: sqs.Queue;
  deadLetterQueue: sqs.Queue;
  alarm: cloudwatch.Alarm;
  ageAlarm: cloudwatch.Alarm;
}

export interface WorkQueueProps {
  /** The timeout of the function that consumes the queue. */
  consumerTimeout: Duration;
  description: string;
}

/** A queue consumed by a Lambda function, with its dead-letter queue, and alarms on dead letters and on waiting too long. */
export function workQueue(scope: Construct, id: string, props: WorkQueueProps): WorkQueue {
  const deadLetterQueue = encryptedQueue(scope, `${id}DeadLetter`);
  const queue = encryptedQueue(scope, id, {
    visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
  });
  const alarm = deadLetterAlarm(
    scope,
    `${id}DeadLetterAlarm`,
    deadLetterQueue,
    `${props.description}: messages reached the dead-letter queue`,
  );
  const ageAlarm = oldestMessageAlarm(scope, `${id}AgeAlarm`, queue, `${props.description}: the oldest message has waited too long`);
  return { queue, deadLetterQueue, alarm, ageAlarm };
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
