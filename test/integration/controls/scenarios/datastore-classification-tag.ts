import { randomUUID } from "node:crypto";
import { PutBucketTaggingCommand, type S3Client } from "@aws-sdk/client-s3";
import { expect } from "vitest";
import { bucketTags } from "../../../../remediations/lib/s3-buckets";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_REGION } from "../../../support/moto";
import { createTestBucket } from "../../../support/s3-buckets";

/** A tag that is not a classification: the fix must keep it, and rollback must leave it exactly as it was. */
export const TEAM_TAG = { Key: "Team", Value: "claims" };
/** The conservative default the scenario's policy tags unclassified stores with. */
export const DEFAULT_CLASSIFICATION = { key: "DataClassification", value: "PHI" };

export async function putBucketTags(s3: S3Client, bucket: string, tags: Record<string, string>): Promise<void> {
  const TagSet = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet } }));
}

/**
 * A bucket created an hour ago without a classification tag (only a Team tag). The event is older than
 * settleSeconds, so the engine decides at once without deferring: the deferral itself is tested in
 * test/integration/runner/deferred-recheck.test.ts.
 */
export const scenario: ControlScenario = {
  control: "datastore-classification-tag",
  options: { tagUnclassified: DEFAULT_CLASSIFICATION },

  async arrangeViolation(moto) {
    const s3 = await moto.clients.s3(MOTO_REGION);
    const bucket = `unclassified-${randomUUID().slice(0, 8)}`;
    const resource = await createTestBucket(s3, bucket, [TEAM_TAG]);
    const record = cloudTrailRecord({
      eventSource: "s3.amazonaws.com",
      eventName: "CreateBucket",
      eventTime: new Date(Date.now() - 3_600_000),
      requestParameters: { bucketName: bucket, Host: `${bucket}.s3.amazonaws.com` },
    });
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect(await bucketTags(await moto.clients.s3(resource.region), resource.id)).toEqual({ Team: "claims", DataClassification: "PHI" });
  },

  async assertUnchanged(moto, resource) {
    expect(await bucketTags(await moto.clients.s3(resource.region), resource.id)).toEqual({ Team: "claims" });
  },

  async makeCompliant(moto, resource) {
    await putBucketTags(await moto.clients.s3(resource.region), resource.id, { Team: "claims", DataClassification: "Internal" });
  },
};
