import { GetBucketLocationCommand, GetBucketTaggingCommand, paginateListBuckets, type S3Client } from "@aws-sdk/client-s3";
import type { ChangeEvent, ControlContext, LiveContext, ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { resolveAccount } from "./account";
import { bucketRef } from "./arn";
import { hasErrorCode, isNotFound } from "./aws-errors";
import { stringsOf } from "./json-fields";
import { defineResourceKind } from "./resource-kind";
import { findPhiMarker, tagMap, tagsFromS3Request, type TagMap } from "./tags";

/** Buckets named by an S3 event: `bucketName` is a scalar in newer records and a list in older ones. */
export function bucketRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  const names = new Set(stringsOf(event.request?.bucketName));
  return [...names].map((name) => bucketRef(name, event.account, event.region));
}

/** A bucket's tags; a bucket without a tag set has none. Throws the service error when the bucket is gone. */
export async function bucketTags(s3: S3Client, bucket: string): Promise<TagMap> {
  try {
    const response = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    return tagMap(response.TagSet);
  } catch (error) {
    if (hasErrorCode(error, "NoSuchTagSet")) return {};
    throw error;
  }
}

/** GetBucketLocation answers null for us-east-1 and the legacy "EU" for eu-west-1. */
export function regionFromLocationConstraint(constraint: string | null | undefined): string {
  if (!constraint) return "us-east-1";
  if (constraint === "EU") return "eu-west-1";
  return constraint;
}

async function bucketRegion(s3: S3Client, bucket: string, listedRegion: string | undefined): Promise<string> {
  if (listedRegion) return listedRegion;
  const location = await s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
  return regionFromLocationConstraint(location.LocationConstraint);
}

/** Every bucket in the account that lives in one of the sweep's regions. A bucket deleted while listing is skipped. */
async function* listBuckets(ctx: LiveContext): AsyncGenerator<ResourceRef> {
  const account = await resolveAccount(ctx);
  const s3 = await ctx.aws.s3(ctx.regions[0] ?? "us-east-1");
  for await (const page of paginateListBuckets({ client: s3 }, {})) {
    for (const bucket of page.Buckets ?? []) {
      if (!bucket.Name) continue;
      let region: string;
      try {
        region = await bucketRegion(s3, bucket.Name, bucket.BucketRegion);
      } catch (error) {
        if (isNotFound(error)) continue;
        throw error;
      }
      if (ctx.regions.includes(region)) yield bucketRef(bucket.Name, account, region);
    }
  }
}

/** S3 buckets: listed once per sweep run and tagged once per unit of work, for every bucket control. */
export const buckets = defineResourceKind({
  type: "AWS::S3::Bucket",
  noun: "bucket",
  list: listBuckets,
  tags: async (ref, ctx) => bucketTags(await ctx.aws.s3(ref.region), ref.id),
});

/** The sweep of every bucket control. */
export function sweepBuckets(ctx: LiveContext): AsyncIterable<ResourceRef> {
  return buckets.list(ctx);
}

/** The option of bucket controls that cover every bucket by default: `phiOnly: true` narrows them to PHI buckets. */
export const phiOnlyOption = z.boolean().default(false);

/**
 * Whether a bucket is one the control judges: every bucket, or with `phiOnly` those whose tags mark PHI. Offline
 * the only tags known are those a CreateBucket or PutBucketTagging request carries.
 */
export function coversBucket(
  phiOnly: boolean,
  target: { tags: TagMap; live: boolean; event?: ChangeEvent },
  ctx: ControlContext<unknown>,
): boolean {
  if (!phiOnly) return true;
  const tags = target.live ? target.tags : tagsFromS3Request(target.event?.request);
  return findPhiMarker(tags, ctx.tags) !== undefined;
}
