import {
  DeletePublicAccessBlockCommand,
  GetPublicAccessBlockCommand,
  PutPublicAccessBlockCommand,
  type PublicAccessBlockConfiguration,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { S3ControlClient } from "@aws-sdk/client-s3-control";
import type { JsonValue } from "@hipaa-remediate/core";
import { z } from "zod";
import { hasErrorCode } from "./aws-errors";
import { booleanOf, objectAt } from "./json-fields";

/**
 * S3's public access block, on a bucket (S3) or on the whole account (S3 Control). The four settings are kept
 * whole: an absent block reads as `null`, never as four `false`s, so rollback can delete a block that was absent.
 */
export type PublicAccessBlock = {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
};

export const PUBLIC_ACCESS_BLOCK_FIELDS = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"] as const;

export const BLOCK_ALL_PUBLIC_ACCESS: PublicAccessBlock = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
};

export const publicAccessBlockSchema = z.object({
  BlockPublicAcls: z.boolean(),
  IgnorePublicAcls: z.boolean(),
  BlockPublicPolicy: z.boolean(),
  RestrictPublicBuckets: z.boolean(),
});

/** S3 leaves out a setting that is off; an absent field means false. */
function fromConfiguration(block: PublicAccessBlockConfiguration): PublicAccessBlock {
  return {
    BlockPublicAcls: block.BlockPublicAcls ?? false,
    IgnorePublicAcls: block.IgnorePublicAcls ?? false,
    BlockPublicPolicy: block.BlockPublicPolicy ?? false,
    RestrictPublicBuckets: block.RestrictPublicBuckets ?? false,
  };
}

export function blocksEverything(block: PublicAccessBlock | null): boolean {
  return block !== null && PUBLIC_ACCESS_BLOCK_FIELDS.every((field) => block[field]);
}

/** The settings that are off, in plain names; every one of them when there is no block at all. */
export function settingsOff(block: PublicAccessBlock | null): string[] {
  return PUBLIC_ACCESS_BLOCK_FIELDS.filter((field) => block === null || !block[field]);
}

/**
 * `PutBucketPublicAccessBlock` / `PutAccountPublicAccessBlock` as CloudTrail records them:
 * `requestParameters.PublicAccessBlockConfiguration.{BlockPublicAcls, ...}`, booleans or "true"/"false" strings.
 * Undefined when the request does not carry the configuration (null or trimmed parameters).
 */
export function publicAccessBlockFromRequest(request: JsonValue | null | undefined): PublicAccessBlock | undefined {
  const configuration = objectAt(request, "PublicAccessBlockConfiguration");
  if (!configuration) return undefined;
  return {
    BlockPublicAcls: booleanOf(configuration.BlockPublicAcls) ?? false,
    IgnorePublicAcls: booleanOf(configuration.IgnorePublicAcls) ?? false,
    BlockPublicPolicy: booleanOf(configuration.BlockPublicPolicy) ?? false,
    RestrictPublicBuckets: booleanOf(configuration.RestrictPublicBuckets) ?? false,
  };
}

/** The bucket's block, or null when it has none. Throws NoSuchBucket when the bucket is gone. */
export async function readBucketPublicAccessBlock(s3: S3Client, bucket: string): Promise<PublicAccessBlock | null> {
  try {
    const response = await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }));
    return response.PublicAccessBlockConfiguration ? fromConfiguration(response.PublicAccessBlockConfiguration) : null;
  } catch (error) {
    if (hasErrorCode(error, "NoSuchPublicAccessBlockConfiguration")) return null;
    throw error;
  }
}

/** Puts the block in place, or deletes it when `block` is null. */
export async function writeBucketPublicAccessBlock(s3: S3Client, bucket: string, block: PublicAccessBlock | null): Promise<void> {
  if (block === null) await s3.send(new DeletePublicAccessBlockCommand({ Bucket: bucket }));
  else await s3.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: block }));
}

/** The account-level block (S3 Control), or null when the account has none. */
export async function readAccountPublicAccessBlock(s3Control: S3ControlClient, account: string): Promise<PublicAccessBlock | null> {
  const { GetPublicAccessBlockCommand: GetAccountBlock } = await import("@aws-sdk/client-s3-control");
  try {
    const response = await s3Control.send(new GetAccountBlock({ AccountId: account }));
    return response.PublicAccessBlockConfiguration ? fromConfiguration(response.PublicAccessBlockConfiguration) : null;
  } catch (error) {
    if (hasErrorCode(error, "NoSuchPublicAccessBlockConfiguration")) return null;
    throw error;
  }
}

export async function writeAccountPublicAccessBlock(
  s3Control: S3ControlClient,
  account: string,
  block: PublicAccessBlock | null,
): Promise<void> {
  const control = await import("@aws-sdk/client-s3-control");
  if (block === null) await s3Control.send(new control.DeletePublicAccessBlockCommand({ AccountId: account }));
  else await s3Control.send(new control.PutPublicAccessBlockCommand({ AccountId: account, PublicAccessBlockConfiguration: block }));
}
