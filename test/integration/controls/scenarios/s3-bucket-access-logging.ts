import { randomUUID } from "node:crypto";
import {
  CreateBucketCommand,
  GetBucketLoggingCommand,
  PutBucketAclCommand,
  PutBucketLoggingCommand,
  type LoggingEnabled,
  type S3Client,
} from "@aws-sdk/client-s3";
import { expect } from "vitest";
import { hasErrorCode } from "../../../../remediations/lib/aws-errors";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_REGION } from "../../../support/moto";
import { PHI_TAGS, createTestBucket, s3Record } from "../../../support/s3-buckets";

/** The log bucket the scenario's policy names. */
export const LOG_SINK = "hipaa-access-log-sink";

/** A bucket that accepts S3 log delivery (the log-delivery group may write), created once per moto reset. */
export async function ensureLogSink(s3: S3Client, bucket = LOG_SINK): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!hasErrorCode(error, "BucketAlreadyOwnedByYou", "BucketAlreadyExists")) throw error;
  }
  const logDelivery = 'uri="http://acs.amazonaws.com/groups/s3/LogDelivery"';
  await s3.send(new PutBucketAclCommand({ Bucket: bucket, GrantWrite: logDelivery, GrantReadACP: logDelivery }));
}

export async function loggingOf(s3: S3Client, bucket: string): Promise<LoggingEnabled | null> {
  return (await s3.send(new GetBucketLoggingCommand({ Bucket: bucket }))).LoggingEnabled ?? null;
}

export async function putLogging(s3: S3Client, bucket: string, target: LoggingEnabled | null): Promise<void> {
  await s3.send(new PutBucketLoggingCommand({ Bucket: bucket, BucketLoggingStatus: target ? { LoggingEnabled: target } : {} }));
}

/** A PHI bucket whose access logging someone turned off: PutBucketLogging with an empty BucketLoggingStatus. */
export const scenario: ControlScenario = {
  control: "s3-bucket-access-logging",
  options: { targetBucket: LOG_SINK },

  async arrangeViolation(moto) {
    const s3 = await moto.clients.s3(MOTO_REGION);
    await ensureLogSink(s3);
    const bucket = `phi-audited-${randomUUID().slice(0, 8)}`;
    const resource = await createTestBucket(s3, bucket, PHI_TAGS);
    await putLogging(s3, bucket, { TargetBucket: LOG_SINK, TargetPrefix: "old/" });
    await putLogging(s3, bucket, null);
    const record = s3Record("PutBucketLogging", bucket, {
      logging: "",
      BucketLoggingStatus: { xmlns: "http://s3.amazonaws.com/doc/2006-03-01/" },
    });
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect(await loggingOf(await moto.clients.s3(resource.region), resource.id)).toEqual({
      TargetBucket: LOG_SINK,
      TargetPrefix: `s3-access-logs/${resource.id}/`,
    });
  },

  async assertUnchanged(moto, resource) {
    expect(await loggingOf(await moto.clients.s3(resource.region), resource.id)).toBeNull();
  },

  async makeCompliant(moto, resource) {
    await putLogging(await moto.clients.s3(resource.region), resource.id, { TargetBucket: LOG_SINK, TargetPrefix: "team/" });
  },
};
