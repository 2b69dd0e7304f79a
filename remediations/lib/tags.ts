import type { JsonValue, TagConventions } from "@hipaa-remediate/core";
import { objectAt, objectsOf, stringOf } from "./json-fields";

/** A resource's tags, key to value. */
export type TagMap = Record<string, string>;

/** One tag that decided a verdict; kept in evidence so an approver sees which tag triggered it. */
export type TagMatch = { key: string; value: string };

/** The API's `[{Key, Value}]` list as a map. A key without a value is a tag with an empty value. */
export function tagMap(tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined): TagMap {
  const map: TagMap = {};
  for (const tag of tags ?? []) {
    if (tag.Key !== undefined) map[tag.Key] = tag.Value ?? "";
  }
  return map;
}

function normalised(text: string): string {
  return text.trim().toLowerCase();
}

/**
 * The first tag whose key is one of `keys` and whose value is one of `values`. Both compare case-insensitively:
 * people write `env=Dev` as often as `Environment=dev`, and missing a PHI marker costs more than a false alarm,
 * which the approval step catches anyway.
 */
export function findTag(tags: TagMap, keys: readonly string[], values: readonly string[]): TagMatch | undefined {
  const wantedKeys = new Set(keys.map(normalised));
  const wantedValues = new Set(values.map(normalised));
  for (const [key, value] of Object.entries(tags)) {
    if (wantedKeys.has(normalised(key)) && wantedValues.has(normalised(value))) return { key, value };
  }
  return undefined;
}

/** The tag that marks the resource as holding PHI, if any. */
export function findPhiMarker(tags: TagMap, conventions: TagConventions): TagMatch | undefined {
  return findTag(tags, conventions.phi.keys, conventions.phi.values);
}

/** The tag that places the resource in a non-production environment, if any. */
export function findNonProductionEnvironment(tags: TagMap, conventions: TagConventions): TagMatch | undefined {
  return findTag(tags, conventions.environment.keys, conventions.environment.nonProduction);
}

/** Tags recorded as a list of `{key, value}` or `{Key, Value}` objects (EC2 uses the first, S3 the second). */
export function tagsFromList(value: JsonValue | null | undefined): TagMap {
  const map: TagMap = {};
  for (const tag of objectsOf(value)) {
    const key = stringOf(tag.key) ?? stringOf(tag.Key);
    if (key === undefined) continue;
    map[key] = stringOf(tag.value) ?? stringOf(tag.Value) ?? "";
  }
  return map;
}

/** EC2 CreateTags: `requestParameters.tagSet.items[]`. */
export function tagsFromEc2TagSet(request: JsonValue | null | undefined): TagMap {
  return tagsFromList(objectAt(request, "tagSet")?.items);
}

/** EC2 RunInstances and friends: the tags in `requestParameters.tagSpecificationSet.items[]` for one resource type. */
export function tagsFromEc2TagSpecifications(request: JsonValue | null | undefined, resourceType: string): TagMap {
  const specifications = objectsOf(objectAt(request, "tagSpecificationSet")?.items);
  const map: TagMap = {};
  for (const specification of specifications) {
    if (stringOf(specification.resourceType) !== resourceType) continue;
    Object.assign(map, tagsFromList(specification.tags), tagsFromList(objectAt(specification, "tags")?.items));
  }
  return map;
}

/**
 * S3 PutBucketTagging (`requestParameters.Tagging.TagSet.Tag`) and CreateBucket with tags
 * (`requestParameters.CreateBucketConfiguration.Tags.Tag`). CloudTrail turns the XML body into JSON, so a
 * single tag arrives as an object rather than a list of one.
 */
export function tagsFromS3Request(request: JsonValue | null | undefined): TagMap {
  return {
    ...tagsFromList(objectAt(request, "CreateBucketConfiguration", "Tags")?.Tag),
    ...tagsFromList(objectAt(request, "Tagging", "TagSet")?.Tag),
  };
}
