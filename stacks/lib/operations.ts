import { ArnFormat, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { App } from "sst/constructs";
import type { Construct } from "constructs";
import { useDeployment } from "./deployment";

/**
 * Where alarms go and which key encrypts the engine's data, for the home region's stacks. The Operations stack
 * provides them; a stack elsewhere (a forwarder region) gets its own alarm topic, since an alarm can only notify a
 * topic in its own region, and keeps AWS-managed encryption.
 */
export interface Operations {
  stack: Stack;
  topic: sns.ITopic;
  /** The customer-managed key, when the deployment asks for one (HIPAA_ENCRYPTION_KEY=customer-managed). */
  key?: kms.IKey;
}

// Keyed by the construct tree's root (the app), so apps synthesised in one process never share them.
const operationsByApp = new WeakMap<Construct, Operations>();

export function provideOperations(scope: Construct, operations: Operations): void {
  operationsByApp.set(scope.node.root, operations);
}

function homeOperations(scope: Construct): Operations | undefined {
  const operations = operationsByApp.get(scope.node.root);
  if (operations === undefined || Stack.of(scope).region !== operations.stack.region) return undefined;
  return operations;
}

function alarmEmail(scope: Construct): string | undefined {
  const root = scope.node.root;
  return root instanceof App ? useDeployment(root).settings.alarmEmail : undefined;
}

/** The topic every alarm notifies, with the e-mail subscription when HIPAA_ALARM_EMAIL is set. */
export function alarmTopic(scope: Construct, id: string): sns.Topic {
  const topic = new sns.Topic(scope, id, { displayName: "hipaa-remediate alarms" });
  // Only CloudWatch alarms of this account publish to it.
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "CloudWatchAlarmsOfThisAccount",
      effect: iam.Effect.ALLOW,
      principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(scope).account } },
    }),
  );
  const email = alarmEmail(scope);
  if (email !== undefined) topic.addSubscription(new subscriptions.EmailSubscription(email));
  return topic;
}

const STACK_TOPIC_ID = "AlarmTopic";

/** The home region's topic, or this stack's own one (created once) in any other region. */
export function alarmTopicFor(scope: Construct): sns.ITopic {
  const home = homeOperations(scope);
  if (home !== undefined) return home.topic;
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(STACK_TOPIC_ID);
  return existing instanceof sns.Topic ? existing : alarmTopic(stack, STACK_TOPIC_ID);
}

/** The customer-managed key for this scope's data, or undefined for AWS-managed encryption. */
export function encryptionKeyFor(scope: Construct): kms.IKey | undefined {
  return homeOperations(scope)?.key;
}

/** A CloudWatch alarm that notifies the alarm topic: no alarm of this app is silent. */
export function notifyingAlarm(scope: Construct, id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, props);
  alarm.addAlarmAction(new cloudwatchActions.SnsAction(alarmTopicFor(scope)));
  return alarm;
}

/** Raised on the first occurrence of a count metric (errors, throttles, dead letters, 5xx). */
export function anyOccurrenceAlarm(scope: Construct, id: string, metric: cloudwatch.IMetric, description: string): cloudwatch.Alarm {
  return notifyingAlarm(scope, id, {
    alarmDescription: description,
    metric,
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

/** Errors and throttles of a function that works through a queue: either means events wait or retry. */
export function functionAlarms(scope: Construct, id: string, fn: lambda.IFunction, what: string): cloudwatch.Alarm[] {
  const period = Duration.minutes(5);
  return [
    anyOccurrenceAlarm(scope, `${id}ErrorsAlarm`, fn.metricErrors({ period, statistic: "Sum" }), `${what}: invocations failed`),
    anyOccurrenceAlarm(
      scope,
      `${id}ThrottlesAlarm`,
      fn.metricThrottles({ period, statistic: "Sum" }),
      `${what}: invocations were throttled`,
    ),
  ];
}

/**
 * The optional customer-managed key: rotated yearly, kept when the stack goes away (data encrypted with it outlives
 * the stack), usable by the account's IAM policies (CDK's default key policy), by EventBridge delivering to the
 * engine queue and by CloudWatch Logs for this account's log groups.
 */
export function engineKey(scope: Construct, id: string): kms.Key {
  const stack = Stack.of(scope);
  const key = new kms.Key(scope, id, {
    description: "hipaa-remediate: queues, tables, log groups and the audit bucket",
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "EventBridgeDeliversToEncryptedQueues",
      principals: [new iam.ServicePrincipal("events.amazonaws.com")],
      actions: ["kms:GenerateDataKey", "kms:Decrypt"],
      resources: ["*"],
      conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
    }),
  );
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: "CloudWatchLogsOfThisAccount",
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:DescribeKey"],
      resources: ["*"],
      conditions: {
        ArnLike: {
          "kms:EncryptionContext:aws:logs:arn": stack.formatArn({
            service: "logs",
            resource: "log-group",
            resourceName: "*",
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  return key;
}

/** SSE-S3 by default; SSE-KMS with the deployment's customer-managed key (bucket keys keep KMS calls few). */
export function bucketEncryptionFor(scope: Construct): Pick<s3.BucketProps, "encryption" | "encryptionKey" | "bucketKeyEnabled"> {
  const key = encryptionKeyFor(scope);
  return key
    ? { encryption: s3.BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true }
    : { encryption: s3.BucketEncryption.S3_MANAGED };
}

/** What a function needs to read and write data encrypted with the key: nothing when encryption is AWS-managed. */
export function keyUseStatements(scope: Construct): iam.PolicyStatement[] {
  const key = encryptionKeyFor(scope);
  if (key === undefined) return [];
  return [
    new iam.PolicyStatement({
      sid: "UseEngineKey",
      effect: iam.Effect.ALLOW,
      actions: ["kms:Decrypt", "kms:GenerateDataKey"],
      resources: [key.keyArn],
    }),
  ];
}
