import { randomUUID } from "node:crypto";
import { PutBucketPolicyCommand, type S3Client } from "@aws-sdk/client-s3";
import type { JsonObject } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { readBucketPolicy } from "../../../../remediations/lib/bucket-policy";
import { tlsOnlyStatement } from "../../../../remediations/s3-bucket-tls-only";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION } from "../../../support/moto";
import { PHI_TAGS, createTestBucket, s3Record } from "../../../support/s3-buckets";

/** A policy that lets the account's analytics role read the bucket and says nothing about TLS, plus `extra`. */
export function readerPolicy(bucket: string, extra: JsonObject[] = []): JsonObject {
  const analyticsRead = {
    Sid: "AnalyticsRead",
    Effect: "Allow",
    Principal: { AWS: `arn:aws:iam::${MOTO_ACCOUNT}:role/analytics` },
    Action: ["s3:GetObject", "s3:ListBucket"],
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
  };
  return { Version: "2012-10-17", Id: "analytics-access", Statement: [analyticsRead, ...extra] };
}

export async function putPolicy(s3: S3Client, bucket: string, policy: JsonObject): Promise<void> {
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
}

/** The bucket's policy as a document; null when it has none. */
export async function policyDocument(s3: S3Client, bucket: string): Promise<JsonObject | null> {
  const text = await readBucketPolicy(s3, bucket);
  return text === null ? null : (JSON.parse(text) as JsonObject);
}

/** A PHI bucket whose policy was replaced by one without a TLS-only deny: PutBucketPolicy. */
export const scenario: ControlScenario = {
  control: "s3-bucket-tls-only",
  options: { phiOnly: true },

  async arrangeViolation(moto) {
    const s3 = await moto.clients.s3(MOTO_REGION);
    const bucket = `phi-transit-${randomUUID().slice(0, 8)}`;
    const resource = await createTestBucket(s3, bucket, PHI_TAGS);
    await putPolicy(s3, bucket, readerPolicy(bucket));
    const record = s3Record("PutBucketPolicy", bucket, { policy: [""], bucketPolicy: readerPolicy(bucket) });
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    const policy = await policyDocument(await moto.clients.s3(resource.region), resource.id);
    expect(policy).toEqual(readerPolicy(resource.id, [tlsOnlyStatement(resource.id)]));
  },

  async assertUnchanged(moto, resource) {
    expect(await policyDocument(await moto.clients.s3(resource.region), resource.id)).toEqual(readerPolicy(resource.id));
  },

  async makeCompliant(moto, resource) {
    // The team's own TLS deny, under its own Sid, is as good as the engine's.
    const deny = { ...tlsOnlyStatement(resource.id), Sid: "TeamDenyHttp" };
    await putPolicy(await moto.clients.s3(resource.region), resource.id, readerPolicy(resource.id, [deny]));
  },
};
