import type { JsonObject, VerifyResult } from "@hipaa-remediate/core";
import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { isNotFound } from "./aws-errors";
import { mergeStatement, readBucketPolicy, statementsOf, writeBucketPolicy } from "./bucket-policy";
import { parseControlData } from "./control-data";
import { InvalidControlDataError, ResourceGoneError } from "./errors";
import {
  BLOCK_ALL_PUBLIC_ACCESS,
  blocksEverything,
  publicAccessBlockSchema,
  readBucketPublicAccessBlock,
  writeBucketPublicAccessBlock,
  type PublicAccessBlock,
} from "./public-access-block";

// The merge lives with the other bucket-policy parsing; re-exported for the callers that know it from here.
export { mergeStatement } from "./bucket-policy";

/**
 * Locking a bucket down until a person looks at it: every public access block setting on, plus a deny
 * statement merged into the bucket policy. Reversible: apply captures the previous block and policy text.
 */

/** Marks the engine's statement in a bucket policy, so it can be found, replaced and verified. */
export const LOCKDOWN_SID = "HipaaRemediateLockdown";

/**
 * What the lockdown denies: reading, writing, listing and deleting data. Bucket management (policy, public
 * access block, tags) stays open to IAM-authorised people, so they can resolve the cause and the engine can roll
 * the lockdown back; denying `s3:*` would lock out everyone but the root user.
 */
const DATA_ACTIONS = [
  "s3:GetObject*",
  "s3:PutObject*",
  "s3:DeleteObject*",
  "s3:ListBucket*",
  "s3:ListMultipartUploadParts",
  "s3:AbortMultipartUpload",
  "s3:RestoreObject",
  "s3:ReplicateObject",
  "s3:ReplicateDelete",
  "s3:ReplicateTags",
];

export type BucketLockdownParams = {
  bucket: string;
  region: string;
  publicAccessBlock: PublicAccessBlock;
  /** The exact statement merged into the bucket policy, so the approver sees it and the plan hash covers it. */
  statement: JsonObject;
};

export const bucketLockdownParamsSchema = z.object({
  bucket: z.string().min(1),
  region: z.string().min(1),
  publicAccessBlock: publicAccessBlockSchema,
  statement: z.record(z.string(), z.json()),
});

/** What apply captures: the public access block and the policy text, or null where there was none. */
const lockdownStateSchema = z.object({
  bucket: z.string().min(1),
  publicAccessBlock: publicAccessBlockSchema.nullable(),
  policy: z.string().nullable(),
});

export type BucketLockdownState = z.output<typeof lockdownStateSchema>;

/** IAM actions for reading, applying and undoing a lockdown. DeletePublicAccessBlock is authorised by s3:PutBucketPublicAccessBlock. */
export const BUCKET_LOCKDOWN_PERMISSIONS = {
  read: ["s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock"],
  apply: ["s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock"],
  rollback: ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketPublicAccessBlock"],
} as const;

export function lockdownStatement(bucket: string, breakGlassRoles: readonly string[]): JsonObject {
  return {
    Sid: LOCKDOWN_SID,
    Effect: "Deny",
    Principal: "*",
    Action: DATA_ACTIONS,
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    // aws:PrincipalArn is the role ARN even for an assumed-role session, so a role pattern matches its sessions.
    ...(breakGlassRoles.length > 0 ? { Condition: { ArnNotLike: { "aws:PrincipalArn": [...breakGlassRoles] } } } : {}),
  };
}

export function bucketLockdownParams(bucket: string, region: string, breakGlassRoles: readonly string[]): BucketLockdownParams {
  return { bucket, region, publicAccessBlock: BLOCK_ALL_PUBLIC_ACCESS, statement: lockdownStatement(bucket, breakGlassRoles) };
}

function findLockdownStatement(policy: string | null, bucket: string): JsonObject | undefined {
  return statementsOf(policy, bucket).find((s) => s.Sid === LOCKDOWN_SID && s.Effect === "Deny");
}

/** The bucket's public access block and policy now. Throws the service's NoSuchBucket when the bucket is gone. */
export async function readLockdownState(s3: S3Client, bucket: string): Promise<BucketLockdownState> {
  const publicAccessBlock = await readBucketPublicAccessBlock(s3, bucket);
  return { bucket, publicAccessBlock, policy: await readBucketPolicy(s3, bucket) };
}

export function isLockedDown(state: BucketLockdownState): boolean {
  return blocksEverything(state.publicAccessBlock) && findLockdownStatement(state.policy, state.bucket) !== undefined;
}

/**
 * Locks the bucket down, re-reading it first. A bucket already locked down is left alone and reported with
 * `before` equal to `after`, so a redelivered apply records no bogus rollback state.
 */
export async function lockDownBucket(
  s3: S3Client,
  params: BucketLockdownParams,
): Promise<{ before: BucketLockdownState; after: BucketLockdownState }> {
  let before: BucketLockdownState;
  try {
    before = await readLockdownState(s3, params.bucket);
  } catch (error) {
    if (isNotFound(error)) throw new ResourceGoneError(`bucket ${params.bucket} no longer exists`, { cause: error });
    throw error;
  }
  if (isLockedDown(before)) return { before, after: before };
  // The policy goes first: once BlockPublicPolicy is on, S3 refuses any policy that still grants public access,
  // and the merged policy keeps the bucket's existing statements.
  await writeBucketPolicy(s3, params.bucket, mergeStatement(before.policy, params.statement, params.bucket));
  await writeBucketPublicAccessBlock(s3, params.bucket, params.publicAccessBlock);
  return { before, after: await readLockdownState(s3, params.bucket) };
}

export async function verifyBucketLockdown(s3: S3Client, params: BucketLockdownParams): Promise<VerifyResult> {
  let state: BucketLockdownState;
  try {
    state = await readLockdownState(s3, params.bucket);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    return { ok: false, state: { bucket: params.bucket, exists: false }, detail: `bucket ${params.bucket} no longer exists` };
  }
  const statement = findLockdownStatement(state.policy, params.bucket) ?? null;
  const readBack: JsonObject = { bucket: params.bucket, publicAccessBlock: state.publicAccessBlock, lockdownStatement: statement };
  if (!blocksEverything(state.publicAccessBlock)) {
    return { ok: false, state: readBack, detail: `bucket ${params.bucket} does not block all public access` };
  }
  if (statement === null) {
    return { ok: false, state: readBack, detail: `the policy of bucket ${params.bucket} has no ${LOCKDOWN_SID} deny statement` };
  }
  return { ok: true, state: readBack };
}

/** Restores both settings; the public access block first, so a previously public policy is accepted again. */
export async function unlockBucket(s3: S3Client, params: BucketLockdownParams, before: JsonObject): Promise<void> {
  const previous = parseControlData(lockdownStateSchema, before, `state captured before locking down ${params.bucket}`);
  if (previous.bucket !== params.bucket) {
    throw new InvalidControlDataError(`field bucket: captured state is for bucket ${previous.bucket}, the plan is for ${params.bucket}`);
  }
  await writeBucketPublicAccessBlock(s3, params.bucket, previous.publicAccessBlock);
  await writeBucketPolicy(s3, params.bucket, previous.policy);
}
