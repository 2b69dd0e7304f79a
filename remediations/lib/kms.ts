import { DescribeKeyCommand, ListResourceTagsCommand, paginateListKeys, type KeyMetadata, type KMSClient } from "@aws-sdk/client-kms";
import type { ChangeEvent, LiveContext, ResourceRef } from "@hipaa-remediate/core";
import { resolveAccount } from "./account";
import { isNotFound } from "./aws-errors";
import { stringOf } from "./json-fields";
import { defineResourceKind } from "./resource-kind";
import type { TagMap } from "./tags";

/** KMS keys: how events name them (a key id or a key ARN) and the shared listing of customer-managed keys. */

export const KMS_SOURCE = "kms.amazonaws.com";
export const KMS_KEY_TYPE = "AWS::KMS::Key";

const KEY_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):([^:]+):key\/(.+)$/;

export function kmsKeyRef(keyId: string, account: string, region: string): ResourceRef {
  return { type: KMS_KEY_TYPE, id: keyId, arn: `arn:aws:kms:${region}:${account}:key/${keyId}`, account, region };
}

/** A key named by id (in the event's region and account) or by key ARN (in the ARN's). */
export function kmsKeyRefFromName(idOrArn: string, event: Pick<ChangeEvent, "account" | "region">): ResourceRef {
  const match = KEY_ARN.exec(idOrArn);
  if (!match) return kmsKeyRef(idOrArn, event.account, event.region);
  const [, partition, region = event.region, account = event.account, keyId = idOrArn] = match;
  return { type: KMS_KEY_TYPE, id: keyId, arn: `arn:${partition}:kms:${region}:${account}:key/${keyId}`, account, region };
}

/**
 * The key a KMS call acted on. `responseElements.keyId` (ScheduleKeyDeletion) is always the key ARN; the request's
 * `keyId` may be a key id or an ARN. Aliases are not accepted by the calls this module serves.
 */
export function kmsKeyRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  const key = stringOf(event.response?.keyId) ?? stringOf(event.request?.keyId);
  return key ? [kmsKeyRefFromName(key, event)] : [];
}

export function isCustomerManaged(metadata: KeyMetadata | undefined): boolean {
  return metadata?.KeyManager === "CUSTOMER";
}

export async function describeKey(kms: KMSClient, keyId: string): Promise<KeyMetadata | undefined> {
  return (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
}

/** The customer-managed keys of the sweep's regions, including those pending deletion. AWS-managed keys are left out. */
async function* listCustomerKeys(ctx: LiveContext): AsyncGenerator<ResourceRef> {
  const account = await resolveAccount(ctx);
  for (const region of ctx.regions) {
    const kms = await ctx.aws.kms(region);
    for await (const page of paginateListKeys({ client: kms }, {})) {
      for (const key of page.Keys ?? []) {
        if (!key.KeyId) continue;
        try {
          if (isCustomerManaged(await describeKey(kms, key.KeyId))) yield kmsKeyRef(key.KeyId, account, region);
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    }
  }
}

async function keyTags(ref: ResourceRef, ctx: LiveContext): Promise<TagMap> {
  const kms = await ctx.aws.kms(ref.region);
  const response = await kms.send(new ListResourceTagsCommand({ KeyId: ref.id }));
  const tags: TagMap = {};
  for (const tag of response.Tags ?? []) if (tag.TagKey !== undefined) tags[tag.TagKey] = tag.TagValue ?? "";
  return tags;
}

/** Customer-managed KMS keys: listed once per sweep run and tagged once per unit of work, for every key control. */
export const customerKeys = defineResourceKind({ type: KMS_KEY_TYPE, noun: "KMS key", list: listCustomerKeys, tags: keyTags });
