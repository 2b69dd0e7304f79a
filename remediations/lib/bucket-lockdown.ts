import {
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetBucketPolicyCommand,
  GetPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { isJsonObject, type JsonObject, type VerifyResult } from "@hipaa-remediate/core";
import { z } from "zod";
import { hasErrorCode, isNotFound } from "./aws-errors";
import { parseControlData } from "./control-data";
import { InvalidControlDataError, ResourceGoneError } from "./errors";

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

export type PublicAccessBlock = {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
};

export const BLOCK_ALL_PUBLIC_ACCESS: PublicAccessBlock = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
};

const publicAccessBlockSchema = z.object({
  BlockPublicAcls: z.boolean(),
  IgnorePublicAcls: z.boolean(),
  BlockPublicPolicy: z.boolean(),
  RestrictPublicBuckets: z.boolean(),
});

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

const policyDocumentSchema = z
  .object({
    Version: z.string().optional(),
    Statement: z.union([z.array(z.record(z.string(), z.json())), z.record(z.string(), z.json())]).optional(),
  })
  .loose();

export class BucketPolicyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BucketPolicyError";
  }
}

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

function policyStatements(policy: string, bucket: string): { document: JsonObject; statements: JsonObject[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch (error) {
    throw new BucketPolicyError(`the policy of bucket ${bucket} is not valid JSON`, { cause: error });
  }
  const result = policyDocumentSchema.safeParse(parsed);
  if (!result.success || !isJsonObject(parsed)) {
    throw new BucketPolicyError(`the policy of bucket ${bucket} is not a policy document`, { cause: result.error });
  }
  const statement = result.data.Statement;
  const statements = statement === undefined ? [] : Array.isArray(statement) ? statement : [statement];
  return { document: parsed, statements };
}

/** The existing policy with `statement` added, replacing an earlier statement with the same Sid; nothing else changes. */
export function mergeStatement(policy: string | null, statement: JsonObject, bucket: string): string {
  if (policy === null) return JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
  const { document, statements } = policyStatements(policy, bucket);
  const kept = statements.filter((existing) => existing.Sid !== statement.Sid);
  return JSON.stringify({ ...document, Version: document.Version ?? "2012-10-17", Statement: [...kept, statement] });
}

function findLockdownStatement(policy: string | null, bucket: string): JsonObject | undefined {
  if (policy === null) return undefined;
  return policyStatements(policy, bucket).statements.find((s) => s.Sid === LOCKDOWN_SID && s.Effect === "Deny");
}

async function readPublicAccessBlock(s3: S3Client, bucket: string): Promise<PublicAccessBlock | null> {
  try {
    const response = await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }));
    const block = response.PublicAccessBlockConfiguration;
    if (!block) return null;
    return {
      BlockPublicAcls: block.BlockPublicAcls ?? false,
      IgnorePublicAcls: block.IgnorePublicAcls ?? false,
      BlockPublicPolicy: block.BlockPublicPolicy ?? false,
      RestrictPublicBuckets: block.RestrictPublicBuckets ?? false,
    };
  } catch (error) {
    if (hasErrorCode(error, "NoSuchPublicAccessBlockConfiguration")) return null;
    throw error;
  }
}

async function readPolicy(s3: S3Client, bucket: string): Promise<string | null> {
  try {
    return (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? null;
  } catch (error) {
    if (hasErrorCode(error, "NoSuchBucketPolicy")) return null;
    throw error;
  }
}

/** The bucket's public access block and policy now. Throws the service's NoSuchBucket when the bucket is gone. */
export async function readLockdownState(s3: S3Client, bucket: string): Promise<BucketLockdownState> {
  const publicAccessBlock = await readPublicAccessBlock(s3, bucket);
  return { bucket, publicAccessBlock, policy: await readPolicy(s3, bucket) };
}

function blocksEverything(block: PublicAccessBlock | null): boolean {
  return block !== null && Object.values(block).every(Boolean);
}

export function isLockedDown(state: BucketLockdownState): boolean {
  return blocksEverything(state.publicAccessBlock) && findLockdownStatement(state.policy, state.bucket) !== undefined;
}

async function writePublicAccessBlock(s3: S3Client, bucket: string, block: PublicAccessBlock | null): Promise<void> {
  if (block === null) await s3.send(new DeletePublicAccessBlockCommand({ Bucket: bucket }));
  else await s3.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: block }));
}

async function writePolicy(s3: S3Client, bucket: string, policy: string | null): Promise<void> {
  if (policy === null) await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
  else await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
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
  await writePolicy(s3, params.bucket, mergeStatement(before.policy, params.statement, params.bucket));
  await writePublicAccessBlock(s3, params.bucket, params.publicAccessBlock);
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
  await writePublicAccessBlock(s3, params.bucket, previous.publicAccessBlock);
  await writePolicy(s3, params.bucket, previous.policy);
}
