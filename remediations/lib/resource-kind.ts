import type { LiveContext, ResourceRef } from "@hipaa-remediate/core";
import type { TagMap } from "./tags";

/**
 * One type of resource the controls reason about: how to list every one of them and how to read a resource's
 * tags. Cloud Custodian calls this a resource manager. Controls of the same type share one kind, and the kind
 * reads through the unit of work's cache (`ctx.reads`), so a sweep lists each type once and reads each
 * resource's tags once, however many controls look at it.
 */
export interface ResourceKind {
  /** The CloudFormation type name, e.g. `AWS::S3::Bucket`. */
  readonly type: string;
  /** What a person calls one of them, for messages: "bucket", "trail", "DB instance". */
  readonly noun: string;
  /** Every resource of this kind in the sweep's regions. A resource deleted while listing is skipped. */
  list(ctx: LiveContext): AsyncIterable<ResourceRef>;
  /** The resource's current tags. Throws the service's not-found error when the resource is gone. */
  tags(ref: ResourceRef, ctx: LiveContext): Promise<TagMap>;
}

/** How to list and tag one kind, without caching; `defineResourceKind` adds the shared cache. */
export interface ResourceKindSource {
  type: string;
  noun: string;
  list(ctx: LiveContext): AsyncIterable<ResourceRef>;
  tags(ref: ResourceRef, ctx: LiveContext): Promise<TagMap>;
}

async function collect(items: AsyncIterable<ResourceRef>): Promise<ResourceRef[]> {
  const all: ResourceRef[] = [];
  for await (const item of items) all.push(item);
  return all;
}

export function defineResourceKind(source: ResourceKindSource): ResourceKind {
  return {
    type: source.type,
    noun: source.noun,
    async *list(ctx) {
      const key = `list:${source.type}:${ctx.account ?? ""}:${ctx.regions.join(",")}`;
      yield* await ctx.reads.read(key, () => collect(source.list(ctx)));
    },
    tags: (ref, ctx) => ctx.reads.readLasting(`tags:${ref.arn}`, () => source.tags(ref, ctx)),
  };
}

/** A kind without tags: account-level settings, which are one per account (and region), not taggable resources. */
export async function noTags(): Promise<TagMap> {
  return {};
}
