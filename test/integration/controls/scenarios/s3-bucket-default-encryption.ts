import { randomUUID } from "node:crypto";
import {
  CreateBucketCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  GetBucketTaggingCommand,
  PutBucketEncryptionCommand,
  PutBucketTaggingCommand,
  type S3Client,
  type ServerSideEncryptionRule,
} from "@aws-sdk/client-s3";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { bucketRef } from "../../../../remediations/lib/arn";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION } from "../../../support/moto";

const PHI_TAGS = [{ Key: "DataClassification", Value: "PHI" }];

/** The bucket's default encryption rules as S3 reports them; an empty list when it has none. */
export async function encryptionRules(s3: S3Client, bucket: string): Promise<ServerSideEncryptionRule[]> {
  try {
    const response = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    return response.ServerSideEncryptionConfiguration?.Rules ?? [];
  } catch (error) {
    if (error instanceof Error && error.name === "ServerSideEncryptionConfigurationNotFoundError") return [];
    throw error;
  }
}

export async function putSseS3(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
    }),
  );
}

/**
 * A PHI bucket whose default encryption someone removed: created, encrypted with SSE-S3, then
 * DeleteBucketEncryption, which is the record the engine receives.
 */
export const scenario: ControlScenario = {
  control: "s3-bucket-default-encryption",
  options: {},

  async arrangeViolation(moto) {
    const s3 = await moto.clients.s3(MOTO_REGION);
    const bucket = `phi-records-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: PHI_TAGS } }));
    await putSseS3(s3, bucket);
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: bucket }));
    const record = cloudTrailRecord({
      eventSource: "s3.amazonaws.com",
      eventName: "DeleteBucketEncryption",
      requestParameters: { bucketName: bucket, Host: `${bucket}.s3.amazonaws.com`, encryption: "" },
    });
    return { record, resource: bucketRef(bucket, MOTO_ACCOUNT, MOTO_REGION) };
  },

  async assertFixed(moto, resource: ResourceRef) {
    const rules = await encryptionRules(await moto.clients.s3(resource.region), resource.id);
    expect(rules).toHaveLength(1);
    expect(rules[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe("AES256");
    expect(rules[0]?.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID).toBeUndefined();
  },

  async assertUnchanged(moto, resource: ResourceRef) {
    const s3 = await moto.clients.s3(resource.region);
    expect(await encryptionRules(s3, resource.id)).toEqual([]);
    const tagging = await s3.send(new GetBucketTaggingCommand({ Bucket: resource.id }));
    expect(tagging.TagSet).toEqual(PHI_TAGS);
  },

  async makeCompliant(moto, resource: ResourceRef) {
    await putSseS3(await moto.clients.s3(resource.region), resource.id);
  },
};
