import { GetBucketLoggingCommand, PutBucketLoggingCommand } from "@aws-sdk/client-s3";
import { CATEGORIES, defineControl, type ChangeEvent, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { InvalidControlDataError, NotifyOnlyPlanError } from "./lib/errors";
import { objectAt, stringOf } from "./lib/json-fields";
import { bucketRefsFromEvent, buckets, coversBucket } from "./lib/s3-buckets";
import { defineSettingControl, type SettingPlanParams } from "./lib/setting-control";

const CONTROL_ID = "s3-bucket-access-logging";
const S3_SOURCE = "s3.amazonaws.com";
const BUCKET_PLACEHOLDER = "{bucket}";
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const optionsSchema = z
  .strictObject({
    /** Where PHI buckets send their access logs. Without it, findings are notify-only: there is nowhere to log to. */
    targetBucket: z
      .string()
      .trim()
      .regex(BUCKET_NAME, "targetBucket must be an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens")
      .optional(),
    /** Key prefix of the logs in the target bucket; `{bucket}` is replaced by the logged bucket's name. */
    targetPrefix: z
      .string()
      .max(900, "targetPrefix is longer than S3 allows for an object key")
      .default(`s3-access-logs/${BUCKET_PLACEHOLDER}/`),
  })
  .prefault({});
export type AccessLoggingOptions = z.output<typeof optionsSchema>;

/** Where a bucket's server access logs go; null when logging is off. */
const loggingSchema = z.object({ targetBucket: z.string().min(1), targetPrefix: z.string() }).nullable();
type Logging = z.output<typeof loggingSchema>;

export function targetFor(bucket: string, options: AccessLoggingOptions): Logging {
  if (!options.targetBucket) return null;
  return { targetBucket: options.targetBucket, targetPrefix: options.targetPrefix.replaceAll(BUCKET_PLACEHOLDER, bucket) };
}

/**
 * What the event says logging became. `PutBucketLogging` without `BucketLoggingStatus.LoggingEnabled` turns it
 * off; a new bucket starts without it. A request without `BucketLoggingStatus` (trimmed, null) says nothing.
 */
function loggingFromEvent(event: ChangeEvent): Logging | undefined {
  if (event.name === "CreateBucket") return null;
  const status = objectAt(event.request, "BucketLoggingStatus");
  if (!status) return undefined;
  const enabled = objectAt(status, "LoggingEnabled");
  if (!enabled) return null;
  const targetBucket = stringOf(enabled.TargetBucket);
  return targetBucket ? { targetBucket, targetPrefix: stringOf(enabled.TargetPrefix) ?? "" } : undefined;
}

function describeLogging(logging: Logging): string {
  return logging === null ? "access logging off" : `logging to s3://${logging.targetBucket}/${logging.targetPrefix}`;
}

const setting = defineSettingControl({
  id: CONTROL_ID,
  title: "PHI buckets keep server access logging on",
  category: "audit-logging",
  hipaa: {
    sections: [...CATEGORIES["audit-logging"].hipaa],
    why: "Server access logs record every request made to a bucket holding ePHI, the activity record 164.312(b) requires and the review 164.308(a)(1)(ii)(D) relies on.",
  },
  severity: "medium",
  options: optionsSchema,
  triggers: [
    { source: S3_SOURCE, name: "CreateBucket", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "PutBucketLogging", resources: bucketRefsFromEvent },
  ],
  permissions: {
    // IAM authorises Get/PutBucketLogging as s3:GetBucketLogging and s3:PutBucketLogging.
    detect: ["s3:GetBucketLogging", "s3:GetBucketTagging", "s3:ListAllMyBuckets", "s3:GetBucketLocation"],
    apply: ["s3:GetBucketLogging", "s3:PutBucketLogging"],
    rollback: ["s3:PutBucketLogging"],
  },
  kind: buckets,
  setting: loggingSchema,

  async read(ref, ctx) {
    const response = await (await ctx.aws.s3(ref.region)).send(new GetBucketLoggingCommand({ Bucket: ref.id }));
    const enabled = response.LoggingEnabled;
    return enabled?.TargetBucket ? { targetBucket: enabled.TargetBucket, targetPrefix: enabled.TargetPrefix ?? "" } : null;
  },
  /** An empty BucketLoggingStatus turns logging off, which is how rollback restores a bucket that had none. */
  async write(ref, logging, ctx) {
    await (
      await ctx.aws.s3(ref.region)
    ).send(
      new PutBucketLoggingCommand({
        Bucket: ref.id,
        BucketLoggingStatus:
          logging === null ? {} : { LoggingEnabled: { TargetBucket: logging.targetBucket, TargetPrefix: logging.targetPrefix } },
      }),
    );
  },
  shortfall: (logging) => (logging === null ? "has server access logging off" : undefined),
  required: (current, options, ref) => current ?? targetFor(ref.id, options),
  describe: describeLogging,
  summarise: (ref, required) => `Turn server access logging on for bucket ${ref.id}, ${describeLogging(required)}.`,
  fromEvent: loggingFromEvent,
  // PHI buckets only; the log bucket itself is never asked to log into itself.
  covers: (target, ctx) => target.ref.id !== ctx.options.targetBucket && coversBucket(true, target, ctx),
  notes: () => [
    "The target bucket must accept S3 log delivery (a bucket policy for logging.s3.amazonaws.com, or the log-delivery group's WRITE and READ_ACP); S3 refuses the change otherwise and nothing is altered.",
    "No one loses access; log objects are billed as storage in the target bucket.",
    "Rollback puts back the previous logging setting: off, or the previous target.",
  ],
});

/** A PHI bucket without logging, when the policy names no target bucket: a person must choose where logs go. */
function notifyOnlyPlan(resource: ResourceRef) {
  return {
    control: CONTROL_ID,
    resource,
    summary: `Turn server access logging back on for bucket ${resource.id}: no target bucket is configured, so the engine cannot.`,
    steps: [
      `Set controls.${CONTROL_ID}.options.targetBucket in the policy to a bucket that accepts S3 log delivery; from then on the engine turns logging on itself.`,
      `Or turn it on by hand: PutBucketLogging on ${resource.id} with a TargetBucket and TargetPrefix.`,
    ],
    reversible: false,
    notifyOnly: true,
    params: {
      resource: { type: resource.type, id: resource.id, arn: resource.arn, account: resource.account, region: resource.region },
      required: null,
    } satisfies SettingPlanParams<Logging>,
  };
}

/**
 * S3 server access logging on PHI buckets. The setting shape does the work; without a configured target bucket
 * the fix has nowhere to send logs, so such a finding is a notification instead of a change.
 */
export const control = defineControl<AccessLoggingOptions, SettingPlanParams<Logging>>({
  ...setting,
  plan(finding, options) {
    return options.targetBucket ? setting.plan(finding, options) : notifyOnlyPlan(finding.resource);
  },
  async apply(plan, ctx) {
    if (plan.notifyOnly) throw new NotifyOnlyPlanError(`${CONTROL_ID}: a notify-only plan for ${plan.resource.arn} cannot be applied`);
    // A plan that would write "off" can only be damaged data: the fix always names a target.
    if (plan.params.required === null) throw new InvalidControlDataError(`plan for ${CONTROL_ID}: field required: names no target bucket`);
    return setting.apply(plan, ctx);
  },
  async rollback(plan, before, ctx) {
    if (plan.notifyOnly) throw new NotifyOnlyPlanError(`${CONTROL_ID}: a notify-only plan for ${plan.resource.arn} changed nothing`);
    return setting.rollback(plan, before, ctx);
  },
});
