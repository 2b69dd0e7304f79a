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
  type TagConventions,
  type Verdict,
} from "@hipaa-remediate/core";
import { z } from "zod";
import { instanceRef } from "./lib/arn";
import { isNotFound } from "./lib/aws-errors";
import {
  BUCKET_LOCKDOWN_PERMISSIONS,
  LOCKDOWN_SID,
  bucketLockdownParams,
  bucketLockdownParamsSchema,
  isLockedDown,
  lockDownBucket,
  readLockdownState,
  unlockBucket,
  verifyBucketLockdown,
  type BucketLockdownParams,
} from "./lib/bucket-lockdown";
import { parseControlData } from "./lib/control-data";
import {
  containInstance,
  containmentParams,
  containmentParamsSchema,
  containmentPermissions,
  describeContainment,
  isQuarantined,
  launchedInstances,
  readInstance,
  releaseInstance,
  sweepInstances,
  verifyContainment,
  type ContainmentParams,
} from "./lib/ec2-quarantine";
import { objectAt, objectsOf, stringsOf } from "./lib/json-fields";
import { bucketRefsFromEvent, buckets, sweepBuckets } from "./lib/s3-buckets";
import {
  findNonProductionEnvironment,
  findPhiMarker,
  tagsFromEc2TagSet,
  tagsFromEc2TagSpecifications,
  tagsFromS3Request,
  type TagMap,
  type TagMatch,
} from "./lib/tags";

const CONTROL_ID = "phi-tagged-non-production";
const BUCKET_TYPE = "AWS::S3::Bucket";
const INSTANCE_TYPE = "AWS::EC2::Instance";

/** An IAM role ARN; `*` and `?` are allowed because the statement compares with ArnNotLike. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}|\*):role\/[\w+=,.@*?/-]+$/;

const optionsSchema = z
  .strictObject({
    /** Roles that keep access to a locked-down bucket, besides the policy's `tags.breakGlassRoles`. */
    breakGlassRoles: z
      .array(z.string().regex(ROLE_ARN, "breakGlassRoles entries must be IAM role ARNs, e.g. arn:aws:iam::123456789012:role/BreakGlass"))
      .default([]),
  })
  .prefault({});

export type PhiNonProductionOptions = z.output<typeof optionsSchema>;

export type BucketLockdownPlanParams = { kind: "bucket" } & BucketLockdownParams;

export type InstanceLockdownParams = { kind: "instance" } & ContainmentParams;

export type LockdownParams = BucketLockdownPlanParams | InstanceLockdownParams;

const paramsSchema = z.discriminatedUnion("kind", [
  bucketLockdownParamsSchema.extend({ kind: z.literal("bucket") }),
  containmentParamsSchema.extend({ kind: z.literal("instance") }),
]);

export class UnsupportedResourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UnsupportedResourceError";
  }
}

/** The PHI marker and the non-production environment tag, when a resource carries both. */
type TagConflict = { phiTag: TagMatch; environmentTag: TagMatch };

export function tagConflict(tags: TagMap, conventions: TagConventions): TagConflict | undefined {
  const phiTag = findPhiMarker(tags, conventions);
  const environmentTag = findNonProductionEnvironment(tags, conventions);
  return phiTag && environmentTag ? { phiTag, environmentTag } : undefined;
}

/** The tags the event itself sets, for offline replay. */
function tagsInEvent(event: ChangeEvent): TagMap {
  switch (event.name) {
    case "CreateTags":
      return tagsFromEc2TagSet(event.request);
    case "RunInstances":
      return tagsFromEc2TagSpecifications(event.request, "instance");
    default:
      return tagsFromS3Request(event.request);
  }
}

interface DetectionContext {
  tags: TagMap;
  confirmed: boolean;
  event: ChangeEvent | undefined;
  conventions: TagConventions;
}

function violation(resource: ResourceRef, conflict: TagConflict, context: DetectionContext): Verdict[] {
  const isBucket = resource.type === BUCKET_TYPE;
  const { phiTag, environmentTag } = conflict;
  // plan() sees only the finding and the control's options, so the policy-wide break-glass roles a lockdown must
  // spare travel in the finding.
  const breakGlass: JsonObject = isBucket ? { policyBreakGlassRoles: [...(context.conventions.breakGlassRoles ?? [])] } : {};
  return [
    {
      kind: "violation",
      finding: {
        control: CONTROL_ID,
        resource,
        summary: `${isBucket ? "Bucket" : "Instance"} ${resource.id} is marked as holding PHI (${phiTag.key}=${phiTag.value}) but tagged as non-production (${environmentTag.key}=${environmentTag.value})`,
        evidence: { phiTag, environmentTag, tagsFrom: context.confirmed ? "live" : "event", ...breakGlass },
        confirmed: context.confirmed,
        tags: context.tags,
        ...(context.event ? { event: eventRef(context.event) } : {}),
      },
    },
  ];
}

function noLongerApplies(resource: ResourceRef, reason: string): Verdict[] {
  return [{ kind: "no-longer-applies", resource, reason }];
}

function notBoth(resource: ResourceRef): Verdict[] {
  return noLongerApplies(resource, `${resource.id} is no longer tagged both as PHI and as non-production`);
}

async function detectBucket(
  resource: ResourceRef,
  event: ChangeEvent | undefined,
  ctx: LiveContext<PhiNonProductionOptions>,
): Promise<Verdict[]> {
  const s3 = await ctx.aws.s3(resource.region);
  try {
    // Tags often land moments after the bucket is created: judge the tags the bucket has now (read once per event or
    // sweep, whichever bucket controls ask).
    const tags = await buckets.tags(resource, ctx);
    const conflict = tagConflict(tags, ctx.tags);
    if (!conflict) return notBoth(resource);
    if (isLockedDown(await readLockdownState(s3, resource.id))) {
      return noLongerApplies(resource, `bucket ${resource.id} is already locked down, pending review`);
    }
    return violation(resource, conflict, { tags, confirmed: true, event, conventions: ctx.tags });
  } catch (error) {
    if (isNotFound(error)) return noLongerApplies(resource, `bucket ${resource.id} no longer exists`);
    throw error;
  }
}

async function detectInstance(
  resource: ResourceRef,
  event: ChangeEvent | undefined,
  ctx: LiveContext<PhiNonProductionOptions>,
): Promise<Verdict[]> {
  const instance = await readInstance(await ctx.aws.ec2(resource.region), resource.id);
  if (!instance) return noLongerApplies(resource, `instance ${resource.id} no longer exists or is terminated`);
  const conflict = tagConflict(instance.tags, ctx.tags);
  if (!conflict) return notBoth(resource);
  if (isQuarantined(instance)) return noLongerApplies(resource, `instance ${resource.id} is already quarantined, pending review`);
  return violation(resource, conflict, { tags: instance.tags, confirmed: true, event, conventions: ctx.tags });
}

function detectOffline(resource: ResourceRef, event: ChangeEvent | undefined, conventions: TagConventions): Verdict[] {
  if (!event) return [];
  const tags = tagsInEvent(event);
  const conflict = tagConflict(tags, conventions);
  return conflict ? violation(resource, conflict, { tags, confirmed: false, event, conventions }) : [];
}

function requireSupported(resource: ResourceRef): void {
  if (resource.type !== BUCKET_TYPE && resource.type !== INSTANCE_TYPE) {
    throw new UnsupportedResourceError(`${CONTROL_ID} handles ${BUCKET_TYPE} and ${INSTANCE_TYPE}, not ${resource.type}`);
  }
}

/** The policy's break-glass roles (carried in the finding) and this control's own, without repeats. */
function breakGlassRoles(finding: Finding, options: PhiNonProductionOptions): string[] {
  return [...new Set([...stringsOf(finding.evidence.policyBreakGlassRoles), ...options.breakGlassRoles])];
}

function planBucket(finding: Finding, options: PhiNonProductionOptions): Plan<LockdownParams> {
  const resource = finding.resource;
  const bucket = resource.id;
  const roles = breakGlassRoles(finding, options);
  const exceptFor = roles.length > 0 ? `everyone except ${roles.join(", ")}` : "everyone";
  return {
    control: CONTROL_ID,
    resource,
    summary: `Lock down bucket ${bucket} until a person resolves its PHI and non-production tags: block public access and deny data access to ${exceptFor}.`,
    steps: [
      `Record the public access block and bucket policy of ${bucket}, for rollback.`,
      `Add statement ${LOCKDOWN_SID} to the bucket policy of ${bucket}, keeping every existing statement: deny object reads, writes, deletes and listing to ${exceptFor}.`,
      `Turn on all four public access block settings of ${bucket}.`,
    ],
    reversible: true,
    params: { kind: "bucket", ...bucketLockdownParams(bucket, resource.region, roles) },
  };
}

function planInstance(resource: ResourceRef): Plan<LockdownParams> {
  const params = containmentParams(CONTROL_ID, resource, "quarantine");
  const { summary, steps } = describeContainment(params);
  return {
    control: CONTROL_ID,
    resource,
    summary: `${summary} It stays isolated until a person resolves its PHI and non-production tags.`,
    steps,
    reversible: true,
    params: { kind: "instance", ...params },
  };
}

function planParams(plan: Plan<LockdownParams>): LockdownParams {
  return parseControlData(paramsSchema, plan.params, `plan for ${CONTROL_ID}`);
}

/** Instance ids named by CreateTags: `resourcesSet.items[].resourceId`, which may also name volumes, AMIs and more. */
function taggedInstances(event: ChangeEvent): ResourceRef[] {
  const items = objectsOf(objectAt(event.request, "resourcesSet")?.items);
  const ids = new Set(items.flatMap((item) => stringsOf(item.resourceId)).filter((id) => id.startsWith("i-")));
  return [...ids].map((id) => instanceRef(id, event.account, event.region));
}

/** RunInstances matters only when it tags the instances at launch; CreateTags covers tags added later. */
function launchedWithTags(event: ChangeEvent): ResourceRef[] {
  if (Object.keys(tagsFromEc2TagSpecifications(event.request, "instance")).length === 0) return [];
  return launchedInstances(event).map((launch) => instanceRef(launch.instanceId, event.account, event.region));
}

const instanceContainment = containmentPermissions(["quarantine"]);

export const control = defineControl<PhiNonProductionOptions, LockdownParams>({
  id: CONTROL_ID,
  title: "Resources marked as PHI are not tagged as non-production",
  category: "tagging",
  hipaa: {
    sections: [...CATEGORIES.tagging.hipaa],
    why: "PHI in a development or test environment escapes the access controls and risk management production gets (164.308(a)(1)(ii)(B)) and is open to people not authorised for it (164.308(a)(4)(ii)(B)); locking it down until a person resolves the tags contains that risk.",
  },
  severity: "critical",
  defaultMode: "approve",
  options: optionsSchema,
  triggers: [
    { source: "ec2.amazonaws.com", name: "CreateTags", resources: taggedInstances },
    { source: "ec2.amazonaws.com", name: "RunInstances", resources: launchedWithTags },
    { source: "s3.amazonaws.com", name: "PutBucketTagging", resources: bucketRefsFromEvent },
    { source: "s3.amazonaws.com", name: "CreateBucket", resources: bucketRefsFromEvent },
  ],
  permissions: {
    detect: [
      "ec2:DescribeInstances",
      "s3:GetBucketTagging",
      ...BUCKET_LOCKDOWN_PERMISSIONS.read,
      "s3:ListAllMyBuckets",
      "s3:GetBucketLocation",
    ],
    apply: [...instanceContainment.apply, ...BUCKET_LOCKDOWN_PERMISSIONS.apply],
    rollback: [...instanceContainment.rollback, ...BUCKET_LOCKDOWN_PERMISSIONS.rollback],
  },

  async detect(input, ctx: ControlContext<PhiNonProductionOptions>) {
    requireSupported(input.resource);
    if (!ctx.aws) return detectOffline(input.resource, input.event, ctx.tags);
    const live = { ...ctx, aws: ctx.aws };
    return input.resource.type === BUCKET_TYPE
      ? detectBucket(input.resource, input.event, live)
      : detectInstance(input.resource, input.event, live);
  },

  plan(finding, options) {
    requireSupported(finding.resource);
    return finding.resource.type === BUCKET_TYPE ? planBucket(finding, options) : planInstance(finding.resource);
  },

  async apply(plan, ctx) {
    const params = planParams(plan);
    if (params.kind === "bucket") return lockDownBucket(await ctx.aws.s3(params.region), params);
    return containInstance(await ctx.aws.ec2(params.region), params, { engineTagKey: ctx.engine.tagKey, now: ctx.now() });
  },

  async verify(plan, ctx) {
    const params = planParams(plan);
    if (params.kind === "bucket") return verifyBucketLockdown(await ctx.aws.s3(params.region), params);
    return verifyContainment(await ctx.aws.ec2(params.region), params);
  },

  async rollback(plan, before, ctx) {
    const params = planParams(plan);
    if (params.kind === "bucket") return unlockBucket(await ctx.aws.s3(params.region), params, before);
    return releaseInstance(await ctx.aws.ec2(params.region), params, before);
  },

  async *sweep(ctx) {
    yield* sweepBuckets(ctx);
    yield* sweepInstances(ctx);
  },
});
