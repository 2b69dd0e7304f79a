import { randomUUID } from "node:crypto";
import {
  CreateBucketCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  type PublicAccessBlockConfiguration,
  type S3Client,
  type Tag,
} from "@aws-sdk/client-s3";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { bucketRef } from "../../../../remediations/lib/arn";
import { LOCKDOWN_SID } from "../../../../remediations/lib/bucket-lockdown";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION } from "../../../support/moto";

export const BREAK_GLASS_ROLE = `arn:aws:iam::${MOTO_ACCOUNT}:role/BreakGlass`;
export const PHI_DEV_TAGS: Tag[] = [
  { Key: "DataClassification", Value: "PHI" },
  { Key: "Environment", Value: "dev" },
];

/** The statement a careful team already has on a PHI bucket: refuse plain HTTP. The lockdown must keep it. */
export function tlsOnlyStatement(bucket: string) {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

export function tlsOnlyPolicy(bucket: string): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: [tlsOnlyStatement(bucket)] });
}

export async function publicAccessBlockOf(s3: S3Client, bucket: string): Promise<PublicAccessBlockConfiguration | null> {
  try {
    return (await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration ?? null;
  } catch (error) {
    if (error instanceof Error && error.name === "NoSuchPublicAccessBlockConfiguration") return null;
    throw error;
  }
}

export async function policyOf(s3: S3Client, bucket: string): Promise<string | null> {
  try {
    return (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? null;
  } catch (error) {
    if (error instanceof Error && error.name === "NoSuchBucketPolicy") return null;
    throw error;
  }
}

export async function policyStatements(s3: S3Client, bucket: string): Promise<Record<string, unknown>[]> {
  const policy = await policyOf(s3, bucket);
  return policy === null ? [] : (JSON.parse(policy) as { Statement: Record<string, unknown>[] }).Statement;
}

export async function tagBucket(s3: S3Client, bucket: string, tags: Tag[]): Promise<void> {
  await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: tags } }));
}

/** A new bucket with the given tags and, optionally, a policy; its name is unique within the moto server. */
export async function createBucket(s3: S3Client, tags: Tag[], policy?: (bucket: string) => string): Promise<string> {
  const bucket = `phi-scratch-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (policy) await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(bucket) }));
  if (tags.length > 0) await tagBucket(s3, bucket, tags);
  return bucket;
}

/**
 * The request CloudTrail records for PutBucketTagging: the XML body as JSON, where a single tag is an object
 * and several are a list.
 */
export function putBucketTaggingRequest(bucket: string | string[], tags: Tag[]): Record<string, unknown> {
  const tagList = tags.map((tag) => ({ Key: tag.Key, Value: tag.Value }));
  return {
    bucketName: bucket,
    Host: `${Array.isArray(bucket) ? bucket[0] : bucket}.s3.amazonaws.com`,
    tagging: "",
    Tagging: { xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", TagSet: { Tag: tagList.length === 1 ? tagList[0] : tagList } },
  };
}

export function putBucketTaggingRecord(bucket: string | string[], tags: Tag[]): Record<string, unknown> {
  return cloudTrailRecord({
    eventSource: "s3.amazonaws.com",
    eventName: "PutBucketTagging",
    requestParameters: putBucketTaggingRequest(bucket, tags),
  });
}

/**
 * A bucket that holds PHI, already protected by a TLS-only policy, then tagged Environment=dev: the
 * PutBucketTagging record is what the engine receives.
 */
export const scenario: ControlScenario = {
  control: "phi-tagged-non-production",
  options: { breakGlassRoles: [BREAK_GLASS_ROLE] },

  async arrangeViolation(moto) {
    const s3 = await moto.clients.s3(MOTO_REGION);
    const bucket = await createBucket(s3, PHI_DEV_TAGS, tlsOnlyPolicy);
    return { record: putBucketTaggingRecord(bucket, PHI_DEV_TAGS), resource: bucketRef(bucket, MOTO_ACCOUNT, MOTO_REGION) };
  },

  async assertFixed(moto, resource: ResourceRef) {
    const s3 = await moto.clients.s3(resource.region);
    expect(await publicAccessBlockOf(s3, resource.id)).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    const statements = await policyStatements(s3, resource.id);
    expect(statements).toHaveLength(2);
    expect(statements[0]).toEqual(tlsOnlyStatement(resource.id));
    expect(statements[1]).toMatchObject({
      Sid: LOCKDOWN_SID,
      Effect: "Deny",
      Principal: "*",
      Condition: { ArnNotLike: { "aws:PrincipalArn": [BREAK_GLASS_ROLE] } },
    });
  },

  async assertUnchanged(moto, resource: ResourceRef) {
    const s3 = await moto.clients.s3(resource.region);
    expect(await publicAccessBlockOf(s3, resource.id)).toBeNull();
    expect(await policyStatements(s3, resource.id)).toEqual([tlsOnlyStatement(resource.id)]);
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: resource.id }))).TagSet).toEqual(PHI_DEV_TAGS);
  },

  async makeCompliant(moto, resource: ResourceRef) {
    // The owner resolves the conflict: the PHI bucket is production after all.
    await tagBucket(await moto.clients.s3(resource.region), resource.id, [
      { Key: "DataClassification", Value: "PHI" },
      { Key: "Environment", Value: "prod" },
    ]);
  },
};
