import { randomUUID } from "node:crypto";
import { GetBucketAclCommand, PutBucketAclCommand, PutPublicAccessBlockCommand, type S3Client } from "@aws-sdk/client-s3";
import { expect } from "vitest";
import { publicGrantsInAcl } from "../../../../remediations/lib/bucket-policy";
import { BLOCK_ALL_PUBLIC_ACCESS, readBucketPublicAccessBlock } from "../../../../remediations/lib/public-access-block";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_REGION } from "../../../support/moto";
import { createTestBucket, s3Record } from "../../../support/s3-buckets";

export async function publicGrants(s3: S3Client, bucket: string): Promise<string[]> {
  return publicGrantsInAcl((await s3.send(new GetBucketAclCommand({ Bucket: bucket }))).Grants);
}

export async function blockAll(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: BLOCK_ALL_PUBLIC_ACCESS }));
}

/**
 * A bucket without a public access block made world-readable with a canned ACL: PutBucketAcl x-amz-acl public-read.
 * (moto accepts the public ACL whatever the block says; AWS would refuse it once BlockPublicAcls is on.)
 */
export const scenario: ControlScenario = {
  control: "s3-bucket-public-access",
  options: { publicBuckets: ["www-*"] },

  async arrangeViolation(moto) {
    const s3 = await moto.clients.s3(MOTO_REGION);
    const bucket = `phi-exposed-${randomUUID().slice(0, 8)}`;
    const resource = await createTestBucket(s3, bucket);
    await s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: "public-read" }));
    const record = s3Record("PutBucketAcl", bucket, { acl: "", "x-amz-acl": "public-read" });
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect(await readBucketPublicAccessBlock(await moto.clients.s3(resource.region), resource.id)).toEqual(BLOCK_ALL_PUBLIC_ACCESS);
  },

  async assertUnchanged(moto, resource) {
    const s3 = await moto.clients.s3(resource.region);
    expect(await readBucketPublicAccessBlock(s3, resource.id)).toBeNull();
    expect(await publicGrants(s3, resource.id)).toEqual(["READ to everyone (AllUsers)"]);
  },

  async makeCompliant(moto, resource) {
    await blockAll(await moto.clients.s3(resource.region), resource.id);
  },
};
