import { AddTagsToResourceCommand, RemoveTagsFromResourceCommand } from "@aws-sdk/client-rds";
import { TagResourceCommand, UntagResourceCommand } from "@aws-sdk/client-dynamodb";
import { CreateTagsCommand, DeleteTagsCommand } from "@aws-sdk/client-ec2";
import { DeleteBucketTaggingCommand, PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import {
  CATEGORIES,
  ReadCache,
  defineControl,
  eventRef,
  type ApplyResult,
  type ChangeEvent,
  type ControlContext,
  type Finding,
  type LiveContext,
  type ResourceRef,
  type Trigger,
  type Verdict,
} from "@hipaa-remediate/core";
import { z } from "zod";
import { isNotFound } from "./lib/aws-errors";
import { parseControlData } from "./lib/control-data";
import { tableRefsFromEvent, tables, DYNAMODB_SOURCE, TABLE_TYPE } from "./lib/dynamodb";
import { volumeRefsFromCreateVolume, volumes, VOLUME_TYPE } from "./lib/ebs-volumes";
import { NotifyOnlyPlanError } from "./lib/errors";
import { DB_INSTANCE_TYPE, RDS_SOURCE, dbInstanceRefsFromEvent, dbInstances, tagsInEvent as rdsTagsInEvent } from "./lib/rds";
import type { ResourceKind } from "./lib/resource-kind";
import { bucketRefsFromEvent, buckets } from "./lib/s3-buckets";
import { tagsFromEc2TagSpecifications, tagsFromList, tagsFromS3Request, type TagMap } from "./lib/tags";
import { capitalise } from "./lib/text";

const CONTROL_ID = "datastore-classification-tag";
const BUCKET_TYPE = "AWS::S3::Bucket";

const tagSchema = z.strictObject({
  key: z.string().min(1, "tagUnclassified.key must not be empty").max(128),
  value: z.string().max(256),
});

const optionsSchema = z
  .strictObject({
    /**
     * How long after a creation tags may still be landing: a younger event is looked at again later (through the
     * runner's deferral queue) before it is reported. At most 900 seconds, the longest SQS delay.
     */
    settleSeconds: z.number().int().min(0).max(900).default(120),
    /** Tag keys that classify a data store (any value counts). Defaults to the policy's PHI tag keys. */
    classificationKeys: z.array(z.string().min(1)).min(1, "classificationKeys must name at least one tag key").optional(),
    /** When set, the fix tags an unclassified store with this conservative default; otherwise the control only notifies. */
    tagUnclassified: tagSchema.optional(),
  })
  .prefault({});

export type ClassificationOptions = z.output<typeof optionsSchema>;

const paramsSchema = z.strictObject({ tag: tagSchema.nullable() });
export type ClassificationParams = z.output<typeof paramsSchema>;

/** What apply saw before tagging: a bucket's whole tag set (PutBucketTagging replaces it), or the one key's old value. */
const beforeSchema = z.strictObject({
  bucketTags: z.record(z.string(), z.string()).optional(),
  previousValue: z.string().nullable(),
});

const KINDS: Record<string, ResourceKind> = {
  [BUCKET_TYPE]: buckets,
  [DB_INSTANCE_TYPE]: dbInstances,
  [TABLE_TYPE]: tables,
  [VOLUME_TYPE]: volumes,
};

function kindOf(resource: ResourceRef): ResourceKind {
  const kind = KINDS[resource.type];
  if (!kind) throw new TypeError(`${CONTROL_ID} does not handle resources of type ${resource.type}`);
  return kind;
}

/** The tags the creating call itself carried: all that is known offline. */
function tagsInEvent(event: ChangeEvent): TagMap {
  switch (event.name) {
    case "CreateBucket":
      return tagsFromS3Request(event.request);
    case "CreateDBInstance":
      return rdsTagsInEvent(event);
    case "CreateTable":
      return tagsFromList(event.request?.tags);
    default:
      return tagsFromEc2TagSpecifications(event.request, "volume");
  }
}

function classificationKeys(ctx: ControlContext<ClassificationOptions>): string[] {
  return ctx.options.classificationKeys ?? ctx.tags.phi.keys;
}

/** The classification tag a store carries, whatever its value (keys compare case-insensitively). */
export function findClassification(tags: TagMap, keys: readonly string[]): { key: string; value: string } | undefined {
  const wanted = new Set(keys.map((key) => key.trim().toLowerCase()));
  const found = Object.entries(tags).find(([key]) => wanted.has(key.trim().toLowerCase()));
  return found ? { key: found[0], value: found[1] } : undefined;
}

/** Seconds since the change, from the injected clock; never negative (clock skew). */
function eventAgeSeconds(event: ChangeEvent, now: Date): number {
  const made = Date.parse(event.time);
  return Number.isNaN(made) ? Number.POSITIVE_INFINITY : Math.max(0, (now.getTime() - made) / 1000);
}

function finding(resource: ResourceRef, tags: TagMap, keys: string[], confirmed: boolean, event: ChangeEvent | undefined): Finding {
  return {
    control: CONTROL_ID,
    resource,
    summary: `${capitalise(kindOf(resource).noun)} ${resource.id} carries no data-classification tag (${keys.join(", ")})`,
    evidence: { classificationKeys: keys, tagKeys: Object.keys(tags).sort(), tagsFrom: confirmed ? "live" : "event" },
    confirmed,
    tags,
    ...(event ? { event: eventRef(event) } : {}),
  };
}

async function liveTags(resource: ResourceRef, ctx: LiveContext): Promise<TagMap | undefined> {
  try {
    return await kindOf(resource).tags(resource, ctx);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Tags read afresh, past the unit of work's cache: apply and verify must see the state as it is now. */
function freshTags(resource: ResourceRef, ctx: LiveContext): Promise<TagMap> {
  return kindOf(resource).tags(resource, { ...ctx, reads: new ReadCache() });
}

async function putTag(resource: ResourceRef, key: string, value: string, ctx: LiveContext): Promise<void> {
  switch (resource.type) {
    case DB_INSTANCE_TYPE:
      await (
        await ctx.aws.rds(resource.region)
      ).send(new AddTagsToResourceCommand({ ResourceName: resource.arn, Tags: [{ Key: key, Value: value }] }));
      return;
    case TABLE_TYPE:
      await (
        await ctx.aws.dynamodb(resource.region)
      ).send(new TagResourceCommand({ ResourceArn: resource.arn, Tags: [{ Key: key, Value: value }] }));
      return;
    case VOLUME_TYPE:
      await (
        await ctx.aws.ec2(resource.region)
      ).send(new CreateTagsCommand({ Resources: [resource.id], Tags: [{ Key: key, Value: value }] }));
      return;
    default:
      throw new TypeError(`${CONTROL_ID}: putTag does not handle ${resource.type}`);
  }
}

async function removeTag(resource: ResourceRef, key: string, ctx: LiveContext): Promise<void> {
  switch (resource.type) {
    case DB_INSTANCE_TYPE:
      await (await ctx.aws.rds(resource.region)).send(new RemoveTagsFromResourceCommand({ ResourceName: resource.arn, TagKeys: [key] }));
      return;
    case TABLE_TYPE:
      await (await ctx.aws.dynamodb(resource.region)).send(new UntagResourceCommand({ ResourceArn: resource.arn, TagKeys: [key] }));
      return;
    case VOLUME_TYPE:
      await (await ctx.aws.ec2(resource.region)).send(new DeleteTagsCommand({ Resources: [resource.id], Tags: [{ Key: key }] }));
      return;
    default:
      throw new TypeError(`${CONTROL_ID}: removeTag does not handle ${resource.type}`);
  }
}

/** PutBucketTagging replaces the whole set; an empty set is written as DeleteBucketTagging. */
async function writeBucketTags(resource: ResourceRef, tags: TagMap, ctx: LiveContext): Promise<void> {
  const s3 = await ctx.aws.s3(resource.region);
  const tagSet = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  if (tagSet.length === 0) await s3.send(new DeleteBucketTaggingCommand({ Bucket: resource.id }));
  else await s3.send(new PutBucketTaggingCommand({ Bucket: resource.id, Tagging: { TagSet: tagSet } }));
}

function tagOf(params: unknown, action: string): { key: string; value: string } {
  const { tag } = parseControlData(paramsSchema, params, `${CONTROL_ID} plan`);
  if (!tag) throw new NotifyOnlyPlanError(`${CONTROL_ID}: a notify-only plan cannot be ${action}`);
  return tag;
}

const byCreation = (name: string, source: string, resources: Trigger["resources"]): Trigger => ({ source, name, resources });

export const control = defineControl<ClassificationOptions, ClassificationParams>({
  id: CONTROL_ID,
  title: "Data stores carry a data-classification tag",
  category: "tagging",
  hipaa: {
    sections: [...CATEGORIES.tagging.hipaa],
    why: "Every PHI safeguard keys off the classification tag, so an unclassified data store escapes them all.",
  },
  severity: "medium",
  options: optionsSchema,
  triggers: [
    byCreation("CreateBucket", "s3.amazonaws.com", bucketRefsFromEvent),
    byCreation("CreateDBInstance", RDS_SOURCE, dbInstanceRefsFromEvent),
    byCreation("CreateTable", DYNAMODB_SOURCE, tableRefsFromEvent),
    byCreation("CreateVolume", "ec2.amazonaws.com", volumeRefsFromCreateVolume),
  ],
  permissions: {
    detect: [
      "s3:ListAllMyBuckets",
      "s3:GetBucketLocation",
      "s3:GetBucketTagging",
      "rds:DescribeDBInstances",
      "rds:ListTagsForResource",
      "dynamodb:ListTables",
      "dynamodb:ListTagsOfResource",
      "ec2:DescribeVolumes",
    ],
    apply: ["s3:GetBucketTagging", "s3:PutBucketTagging", "rds:AddTagsToResource", "dynamodb:TagResource", "ec2:CreateTags"],
    // DeleteBucketTagging is authorised by s3:PutBucketTagging.
    rollback: [
      "s3:PutBucketTagging",
      "rds:AddTagsToResource",
      "rds:RemoveTagsFromResource",
      "dynamodb:TagResource",
      "dynamodb:UntagResource",
      "ec2:CreateTags",
      "ec2:DeleteTags",
    ],
  },

  async detect({ resource, event }, ctx): Promise<Verdict[]> {
    const keys = classificationKeys(ctx);
    if (!ctx.aws) {
      const tags = event ? tagsInEvent(event) : {};
      const found = findClassification(tags, keys);
      if (found) return [{ kind: "no-longer-applies", resource, reason: `${resource.id} is created with ${found.key}=${found.value}` }];
      return [{ kind: "violation", finding: finding(resource, tags, keys, false, event) }];
    }
    const tags = await liveTags(resource, { ...ctx, aws: ctx.aws });
    if (!tags) return [{ kind: "no-longer-applies", resource, reason: `${kindOf(resource).noun} ${resource.id} no longer exists` }];
    const found = findClassification(tags, keys);
    if (found) return [{ kind: "no-longer-applies", resource, reason: `${resource.id} is classified (${found.key}=${found.value})` }];
    const unclassified = finding(resource, tags, keys, true, event);
    if (event) {
      const age = eventAgeSeconds(event, ctx.now());
      if (age < ctx.options.settleSeconds) {
        return [
          {
            kind: "recheck-later",
            finding: unclassified,
            afterSeconds: Math.ceil(ctx.options.settleSeconds - age),
            reason: `no classification tag yet ${Math.floor(age)}s after creation; tags may still be landing (settleSeconds ${ctx.options.settleSeconds})`,
          },
        ];
      }
    }
    return [{ kind: "violation", finding: unclassified }];
  },

  plan(found, options) {
    const tag = options.tagUnclassified ?? null;
    const noun = kindOf(found.resource).noun;
    return {
      control: CONTROL_ID,
      resource: found.resource,
      summary: tag
        ? `Tag ${noun} ${found.resource.id} ${tag.key}=${tag.value}, so every PHI safeguard applies until its owner classifies it`
        : `Ask the owner of ${noun} ${found.resource.id} to classify it (no automatic tagging configured)`,
      steps: tag
        ? [
            found.resource.type === BUCKET_TYPE
              ? `Read the bucket's tag set and write it back with ${tag.key}=${tag.value} added`
              : `Add the tag ${tag.key}=${tag.value}`,
          ]
        : ["Notify only: set controls.datastore-classification-tag.options.tagUnclassified to tag unclassified stores"],
      reversible: tag !== null,
      ...(tag ? {} : { notifyOnly: true }),
      params: { tag },
    };
  },

  async apply(plan, ctx): Promise<ApplyResult> {
    const tag = tagOf(plan.params, "applied");
    const current = await freshTags(plan.resource, ctx);
    const previousValue = current[tag.key] ?? null;
    if (plan.resource.type === BUCKET_TYPE) {
      await writeBucketTags(plan.resource, { ...current, [tag.key]: tag.value }, ctx);
      return { before: { bucketTags: current, previousValue }, after: { [tag.key]: tag.value } };
    }
    await putTag(plan.resource, tag.key, tag.value, ctx);
    return { before: { previousValue }, after: { [tag.key]: tag.value } };
  },

  async verify(plan, ctx) {
    const tag = tagOf(plan.params, "verified");
    const tags = await freshTags(plan.resource, ctx);
    const ok = tags[tag.key] === tag.value;
    return { ok, state: { tagKeys: Object.keys(tags).sort() }, ...(ok ? {} : { detail: `tag ${tag.key}=${tag.value} not found` }) };
  },

  async rollback(plan, before, ctx) {
    const tag = tagOf(plan.params, "rolled back");
    const saved = parseControlData(beforeSchema, before, `${CONTROL_ID} captured state`);
    if (plan.resource.type === BUCKET_TYPE) {
      // Restores exactly the set captured before, including tags other people changed since (it is one set).
      await writeBucketTags(plan.resource, saved.bucketTags ?? {}, ctx);
      return;
    }
    if (saved.previousValue === null) await removeTag(plan.resource, tag.key, ctx);
    else await putTag(plan.resource, tag.key, saved.previousValue, ctx);
  },

  async *sweep(ctx) {
    for (const kind of Object.values(KINDS)) yield* kind.list(ctx);
  },
});
