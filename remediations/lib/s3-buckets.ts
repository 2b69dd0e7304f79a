import { GetBucketLocationCommand, GetBucketTaggingCommand, paginateListBuckets, type S3Client } from "@aws-sdk/client-s3";
import type { ChangeEvent, LiveContext, ResourceRef } from "@hipaa-remediate/core";
import { resolveAccount } from "./account";
import { bucketRef } from "./arn";
import { hasErrorCode, isNotFound } from "./aws-errors";
import { stringsOf } from "./json-fields";
import { tagMap, type TagMap } from "./tags";

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

/**
 * Every bucket in the account that lives in one of the sweep's regions. A bucket deleted while the sweep runs
 * is skipped.
 */
export async function* sweepBuckets(ctx: LiveContext): AsyncGenerator<ResourceRef> {
  const account = await resolveAccount(ctx);
  const s3 = ctx.aws.s3(ctx.regions[0] ?? "us-east-1");
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
