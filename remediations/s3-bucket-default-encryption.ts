import {
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  PutBucketEncryptionCommand,
  ServerSideEncryption,
  type S3Client,
  type ServerSideEncryptionConfiguration,
} from "@aws-sdk/client-s3";
import {
  CATEGORIES,
  defineControl,
  eventRef,
  type ChangeEvent,
  type ControlContext,
  type Finding,
  type JsonObject,
  type LiveContext,
  type Plan,
  type ResourceRef,
  type Verdict,
} from "@hipaa-remediate/core";
import { z } from "zod";
import { hasErrorCode, isNotFound } from "./lib/aws-errors";
import { InvalidControlDataError, ResourceGoneError } from "./lib/errors";
import { parseControlData } from "./lib/control-data";
import { booleanOf, objectAt, objectsOf, stringOf } from "./lib/json-fields";
import { kmsKeyReference } from "./lib/options";
import { bucketRefsFromEvent, buckets, sweepBuckets } from "./lib/s3-buckets";

const CONTROL_ID = "s3-bucket-default-encryption";
const S3_SOURCE = "s3.amazonaws.com";

const optionsSchema = z
  .strictObject({
    /** When set, buckets must use SSE-KMS with this key (id, ARN or alias) and S3 Bucket Keys. */
    kmsKeyId: kmsKeyReference().optional(),
  })
  .prefault({});

export type DefaultEncryptionOptions = z.output<typeof optionsSchema>;

/** A bucket's default encryption rule, reduced to what the policy judges and rollback restores. */
export type EncryptionSetting = {
  algorithm: string;
  kmsKeyId: string | null;
  bucketKeyEnabled: boolean;
};

const encryptionSettingSchema = z.object({
  algorithm: z.string().min(1),
  kmsKeyId: z.string().min(1).nullable(),
  bucketKeyEnabled: z.boolean(),
});

export type DefaultEncryptionPlanParams = {
  bucket: string;
  region: string;
  required: EncryptionSetting;
};

const planParamsSchema = z.object({ bucket: z.string().min(1), region: z.string().min(1), required: encryptionSettingSchema });

/** What apply captures, so rollback can put back exactly the rule that was there, or none. */
const beforeSchema = z.object({
  bucket: z.string().min(1),
  region: z.string().min(1),
  configuration: encryptionSettingSchema.nullable(),
});

export function requiredSetting(options: DefaultEncryptionOptions): EncryptionSetting {
  return options.kmsKeyId
    ? { algorithm: ServerSideEncryption.aws_kms, kmsKeyId: options.kmsKeyId, bucketKeyEnabled: true }
    : { algorithm: ServerSideEncryption.AES256, kmsKeyId: null, bucketKeyEnabled: false };
}

/** "key/<id>" or "alias/<name>", whether the key was given as a bare id, an alias or an ARN. */
function kmsKeyTail(key: string): string {
  const resource = key.startsWith("arn:") ? key.split(":").slice(5).join(":") : key;
  return resource.startsWith("alias/") || resource.startsWith("key/") ? resource : `key/${resource}`;
}

/** Two ARNs must match exactly; otherwise compare what the key names, since S3 echoes the form that was put. */
function sameKmsKey(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return false;
  if (a.startsWith("arn:") && b.startsWith("arn:")) return a === b;
  return kmsKeyTail(a) === kmsKeyTail(b);
}

/** Why `current` falls short of `required`, or undefined when it meets it. */
export function shortfall(current: EncryptionSetting | null, required: EncryptionSetting): string | undefined {
  if (current === null) return "has no default encryption";
  if (required.kmsKeyId === null) return undefined;
  // DSSE-KMS with the required key is stronger than SSE-KMS; S3 Bucket Keys do not apply to it.
  if (current.algorithm === ServerSideEncryption.aws_kms_dsse && sameKmsKey(current.kmsKeyId, required.kmsKeyId)) {
    return undefined;
  }
  if (current.algorithm !== ServerSideEncryption.aws_kms) {
    return `uses ${current.algorithm} but the policy requires SSE-KMS with key ${required.kmsKeyId}`;
  }
  if (!sameKmsKey(current.kmsKeyId, required.kmsKeyId)) {
    return `uses SSE-KMS with key ${current.kmsKeyId ?? "aws/s3 (the AWS managed key)"} but the policy requires key ${required.kmsKeyId}`;
  }
  if (!current.bucketKeyEnabled) return "uses the required KMS key but has S3 Bucket Keys turned off";
  return undefined;
}

function describeSetting(setting: EncryptionSetting | null): string {
  if (setting === null) return "none";
  if (setting.algorithm === ServerSideEncryption.AES256) return "SSE-S3 (AES256)";
  const key = setting.kmsKeyId ?? "the AWS managed key";
  return `${setting.algorithm === ServerSideEncryption.aws_kms ? "SSE-KMS" : setting.algorithm} with key ${key}${
    setting.bucketKeyEnabled ? " and S3 Bucket Keys" : ""
  }`;
}

/** The first rule that sets a default, from either the API response or a CloudTrail request body. */
function settingFromRule(rule: {
  algorithm: string | undefined;
  kmsKeyId: string | undefined;
  bucketKeyEnabled: boolean | undefined;
}): EncryptionSetting | null {
  if (!rule.algorithm) return null;
  return { algorithm: rule.algorithm, kmsKeyId: rule.kmsKeyId ?? null, bucketKeyEnabled: rule.bucketKeyEnabled ?? false };
}

function settingFromApi(configuration: ServerSideEncryptionConfiguration | undefined): EncryptionSetting | null {
  for (const rule of configuration?.Rules ?? []) {
    const setting = settingFromRule({
      algorithm: rule.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
      kmsKeyId: rule.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID,
      bucketKeyEnabled: rule.BucketKeyEnabled,
    });
    if (setting) return setting;
  }
  return null;
}

/** CloudTrail records the XML body as JSON: `Rule` may be one object or a list, and some writers say `Rules`. */
export function settingFromRequest(request: JsonObject | null): EncryptionSetting | null {
  const configuration = objectAt(request, "ServerSideEncryptionConfiguration");
  const rules = [...objectsOf(configuration?.Rule), ...objectsOf(configuration?.Rules)];
  for (const rule of rules) {
    const defaults = objectAt(rule, "ApplyServerSideEncryptionByDefault");
    const setting = settingFromRule({
      algorithm: stringOf(defaults?.SSEAlgorithm),
      kmsKeyId: stringOf(defaults?.KMSMasterKeyID),
      bucketKeyEnabled: booleanOf(rule.BucketKeyEnabled),
    });
    if (setting) return setting;
  }
  return null;
}

/** The bucket's current default encryption, or null when it has none. Throws NoSuchBucket when the bucket is gone. */
export async function readEncryption(s3: S3Client, bucket: string): Promise<EncryptionSetting | null> {
  try {
    const response = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    return settingFromApi(response.ServerSideEncryptionConfiguration);
  } catch (error) {
    if (hasErrorCode(error, "ServerSideEncryptionConfigurationNotFoundError")) return null;
    throw error;
  }
}

/**
 * The encryption as this unit of work reads it: once in detection, and once more in the re-check just before a
 * fix, whose scope apply shares, so the state apply captures before the change is the re-check's read.
 */
function encryptionInScope(ref: ResourceRef, ctx: LiveContext<DefaultEncryptionOptions>): Promise<EncryptionSetting | null> {
  return ctx.reads.read(`setting:${CONTROL_ID}:${ref.arn}`, async () => readEncryption(await ctx.aws.s3(ref.region), ref.id));
}

function isKnownAlgorithm(value: string): value is ServerSideEncryption {
  return (Object.values(ServerSideEncryption) as string[]).includes(value);
}

async function writeEncryption(s3: S3Client, bucket: string, setting: EncryptionSetting): Promise<void> {
  if (!isKnownAlgorithm(setting.algorithm)) {
    throw new InvalidControlDataError(`cannot put SSEAlgorithm ${setting.algorithm} on bucket ${bucket}: not an S3 algorithm`);
  }
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [
          {
            ApplyServerSideEncryptionByDefault: {
              SSEAlgorithm: setting.algorithm,
              ...(setting.kmsKeyId !== null ? { KMSMasterKeyID: setting.kmsKeyId } : {}),
            },
            BucketKeyEnabled: setting.bucketKeyEnabled,
          },
        ],
      },
    }),
  );
}

/** What the event alone says about the bucket's default encryption. */
type EventClaim = { kind: "removed" } | { kind: "set"; setting: EncryptionSetting } | { kind: "unknown" };

function claimOf(event: ChangeEvent): EventClaim {
  if (event.name === "DeleteBucketEncryption") return { kind: "removed" };
  if (event.name === "PutBucketEncryption") {
    const setting = settingFromRequest(event.request);
    if (setting) return { kind: "set", setting };
  }
  // CreateBucket: AWS encrypts new buckets with SSE-S3 by default, so the event proves nothing either way.
  return { kind: "unknown" };
}

function claimEvidence(claim: EventClaim): JsonObject {
  if (claim.kind === "set") return { kind: "set", setting: claim.setting };
  return { kind: claim.kind };
}

function violation(
  resource: ResourceRef,
  current: EncryptionSetting | null,
  gap: string,
  required: EncryptionSetting,
  context: { confirmed: boolean; tags: Record<string, string>; event: ChangeEvent | undefined },
): Verdict {
  const finding: Finding = {
    control: CONTROL_ID,
    resource,
    summary: `Bucket ${resource.id} ${gap}`,
    evidence: {
      current,
      required,
      shortfall: gap,
      ...(context.event ? { eventClaim: claimEvidence(claimOf(context.event)) } : {}),
    },
    confirmed: context.confirmed,
    tags: context.tags,
    ...(context.event ? { event: eventRef(context.event) } : {}),
  };
  return { kind: "violation", finding };
}

function detectOffline(resource: ResourceRef, event: ChangeEvent | undefined, required: EncryptionSetting): Verdict[] {
  if (!event) return [];
  const claim = claimOf(event);
  if (claim.kind === "unknown") return [];
  const current = claim.kind === "set" ? claim.setting : null;
  const gap = shortfall(current, required);
  if (gap === undefined) return [];
  return [violation(resource, current, gap, required, { confirmed: false, tags: {}, event })];
}

async function detectLive(
  resource: ResourceRef,
  event: ChangeEvent | undefined,
  required: EncryptionSetting,
  ctx: LiveContext<DefaultEncryptionOptions>,
): Promise<Verdict[]> {
  const gone: Verdict = { kind: "no-longer-applies", resource, reason: `bucket ${resource.id} no longer exists` };
  try {
    const current = await encryptionInScope(resource, ctx);
    const gap = shortfall(current, required);
    if (gap === undefined) {
      const reason = `bucket ${resource.id} already has default encryption ${describeSetting(current)}, which meets the policy`;
      return [{ kind: "no-longer-applies", resource, reason }];
    }
    // Shared with every other bucket control in this event or sweep: read once.
    const tags = await buckets.tags(resource, ctx);
    return [violation(resource, current, gap, required, { confirmed: true, tags, event })];
  } catch (error) {
    if (isNotFound(error)) return [gone];
    throw error;
  }
}

export const control = defineControl<DefaultEncryptionOptions, DefaultEncryptionPlanParams>({
  id: CONTROL_ID,
  title: "S3 buckets encrypt new objects by default",
  category: "encryption-at-rest",
  hipaa: {
    sections: [...CATEGORIES["encryption-at-rest"].hipaa],
    why: "Default encryption keeps every object written to a bucket that may hold ePHI encrypted at rest, the safeguard 164.312(a)(2)(iv) asks for.",
  },
  severity: "high",
  options: optionsSchema,
  triggers: [
    { source: S3_SOURCE, name: "CreateBucket", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "PutBucketEncryption", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "DeleteBucketEncryption", resources: bucketRefsFromEvent },
  ],
  permissions: {
    // IAM names the Get/Put/DeleteBucketEncryption calls s3:Get/PutEncryptionConfiguration.
    detect: ["s3:GetEncryptionConfiguration", "s3:GetBucketTagging", "s3:ListAllMyBuckets", "s3:GetBucketLocation"],
    apply: ["s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"],
    rollback: ["s3:PutEncryptionConfiguration"],
  },

  async detect(input, ctx: ControlContext<DefaultEncryptionOptions>) {
    const required = requiredSetting(ctx.options);
    if (!ctx.aws) return detectOffline(input.resource, input.event, required);
    return detectLive(input.resource, input.event, required, { ...ctx, aws: ctx.aws });
  },

  plan(finding, options): Plan<DefaultEncryptionPlanParams> {
    const required = requiredSetting(options);
    const bucket = finding.resource.id;
    return {
      control: CONTROL_ID,
      resource: finding.resource,
      summary: `Set default encryption of bucket ${bucket} to ${describeSetting(required)}.`,
      steps: [
        `Read the current default encryption of bucket ${bucket} and keep it for rollback.`,
        `PutBucketEncryption on ${bucket}: ${describeSetting(required)}.`,
      ],
      reversible: true,
      params: { bucket, region: finding.resource.region, required },
    };
  },

  async apply(plan, ctx) {
    const params = parseControlData(planParamsSchema, plan.params, `plan for ${CONTROL_ID}`);
    if (params.bucket !== plan.resource.id || params.region !== plan.resource.region) {
      // The re-check read plan.resource: the state captured before the change must be of the bucket written.
      throw new InvalidControlDataError(
        `field bucket: plan parameters name ${params.bucket} in ${params.region}, the plan is for ${plan.resource.id} in ${plan.resource.region}`,
      );
    }
    let current: EncryptionSetting | null;
    try {
      current = await encryptionInScope(plan.resource, ctx);
    } catch (error) {
      if (isNotFound(error)) throw new ResourceGoneError(`bucket ${params.bucket} no longer exists`, { cause: error });
      throw error;
    }
    const before = { bucket: params.bucket, region: params.region, configuration: current };
    // Re-checked just now: a bucket that already meets the policy keeps its (possibly stronger) rule untouched.
    if (shortfall(current, params.required) === undefined) return { before, after: before };
    await writeEncryption(await ctx.aws.s3(params.region), params.bucket, params.required);
    return { before, after: { ...before, configuration: params.required } };
  },

  async verify(plan, ctx) {
    const params = parseControlData(planParamsSchema, plan.params, `plan for ${CONTROL_ID}`);
    try {
      const current = await readEncryption(await ctx.aws.s3(params.region), params.bucket);
      const gap = shortfall(current, params.required);
      return {
        ok: gap === undefined,
        state: { bucket: params.bucket, configuration: current },
        ...(gap !== undefined ? { detail: `bucket ${params.bucket} ${gap}` } : {}),
      };
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return { ok: false, state: { bucket: params.bucket, configuration: null }, detail: `bucket ${params.bucket} no longer exists` };
    }
  },

  async rollback(plan, before, ctx) {
    const params = parseControlData(planParamsSchema, plan.params, `plan for ${CONTROL_ID}`);
    const previous = parseControlData(beforeSchema, before, `state captured before ${CONTROL_ID} changed ${params.bucket}`);
    if (previous.bucket !== params.bucket) {
      throw new InvalidControlDataError(`field bucket: captured state is for bucket ${previous.bucket}, the plan is for ${params.bucket}`);
    }
    const s3 = await ctx.aws.s3(previous.region);
    if (previous.configuration === null) {
      await s3.send(new DeleteBucketEncryptionCommand({ Bucket: previous.bucket }));
      return;
    }
    await writeEncryption(s3, previous.bucket, previous.configuration);
  },

  sweep: sweepBuckets,
});
