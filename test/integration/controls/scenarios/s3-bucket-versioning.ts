import { randomUUID } from "node:crypto";
import { GetBucketVersioningCommand, PutBucketVersioningCommand, type S3Client } from "@aws-sdk/client-s3";
import { expect } from "vitest";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_REGION } from "../../../support/moto";
import { PHI_TAGS, createTestBucket, s3Record } from "../../../support/s3-buckets";

/** The bucket's versioning status as S3 reports it; "Unversioned" when it was never set. */
export async function versioningStatus(s3: S3Client, bucket: string): Promise<string> {
  return (await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status ?? "Unversioned";
}

export async function putVersioning(s3: S3Client, bucket: string, status: "Enabled" | "Suspended"): Promise<void> {
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: status } }));
}

/** A PHI bucket whose versioning someone suspended: PutBucketVersioning with Status Suspended. */
export const scenario: ControlScenario = {
  control: "s3-bucket-versioning",
  options: { phiOnly: true },

  async arrangeViolation(moto) {
    const s3 = await moto.clients.s3(MOTO_REGION);
    const bucket = `phi-versioned-${randomUUID().slice(0, 8)}`;
    const resource = await createTestBucket(s3, bucket, PHI_TAGS);
    await putVersioning(s3, bucket, "Enabled");
    await putVersioning(s3, bucket, "Suspended");
    const record = s3Record("PutBucketVersioning", bucket, {
      versioning: "",
      VersioningConfiguration: { xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", Status: "Suspended" },
    });
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect(await versioningStatus(await moto.clients.s3(resource.region), resource.id)).toBe("Enabled");
  },

  async assertUnchanged(moto, resource) {
    expect(await versioningStatus(await moto.clients.s3(resource.region), resource.id)).toBe("Suspended");
  },

  async makeCompliant(moto, resource) {
    await putVersioning(await moto.clients.s3(resource.region), resource.id, "Enabled");
  },
};
