import { CATEGORIES, matchesGlob, type ChangeEvent, type ControlContext, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { accountSettingRef, type AccountSetting } from "./lib/account-setting-kind";
import { policyFromRequest, publicAllowStatements, publicGrantsInRequest } from "./lib/bucket-policy";
import {
  BLOCK_ALL_PUBLIC_ACCESS,
  publicAccessBlockFromRequest,
  publicAccessBlockSchema,
  readAccountPublicAccessBlock,
  readBucketPublicAccessBlock,
  settingsOff,
  writeAccountPublicAccessBlock,
  writeBucketPublicAccessBlock,
  type PublicAccessBlock,
} from "./lib/public-access-block";
import { noTags, type ResourceKind } from "./lib/resource-kind";
import { bucketRefsFromEvent, buckets } from "./lib/s3-buckets";
import { defineSettingControl } from "./lib/setting-control";
import { tagsFromS3Request, type TagMap } from "./lib/tags";

const S3_SOURCE = "s3.amazonaws.com";

/** The account-wide block (S3 Control): one per account, so one pseudo-resource in us-east-1. */
export const ACCOUNT_PUBLIC_ACCESS_BLOCK: AccountSetting = {
  type: "AWS::S3::AccountPublicAccessBlock",
  noun: "public access block of account",
  arn: (account) => `arn:aws:s3:::account-public-access-block/${account}`,
  global: true,
};

function isAccountBlock(ref: ResourceRef): boolean {
  return ref.type === ACCOUNT_PUBLIC_ACCESS_BLOCK.type;
}

/**
 * Buckets, plus the account-level block that DeleteAccountPublicAccessBlock names. The sweep lists buckets only:
 * the account-level block is judged when its event arrives (see the README on S3 Control and the emulator).
 */
const bucketsAndAccount: ResourceKind = {
  type: buckets.type,
  noun: "public access block of",
  list: (ctx) => buckets.list(ctx),
  tags: (ref, ctx) => (isAccountBlock(ref) ? noTags() : buckets.tags(ref, ctx)),
};

const optionsSchema = z
  .strictObject({
    /** Buckets meant to be public (static websites), by name or glob (`*`, `?`): never blocked. */
    publicBuckets: z.array(z.string().trim().min(1, "publicBuckets entries must name a bucket or a glob")).default([]),
    /** A tag that declares a bucket intentionally public, e.g. {key: "Exposure", value: "public-website"}. */
    publicTag: z.strictObject({ key: z.string().trim().min(1, "publicTag.key must not be empty"), value: z.string() }).optional(),
  })
  .prefault({});
export type PublicAccessOptions = z.output<typeof optionsSchema>;

const blockSchema = publicAccessBlockSchema.nullable();

/** The exemption that declares the bucket intentionally public, if any. */
export function declaredPublic(bucket: string, tags: TagMap, options: PublicAccessOptions): string | undefined {
  const byName = options.publicBuckets.find((glob) => matchesGlob(glob, bucket));
  if (byName) return `listed in publicBuckets (${byName})`;
  const tag = options.publicTag;
  if (tag && Object.entries(tags).some(([key, value]) => key === tag.key && value === tag.value)) return `tagged ${tag.key}=${tag.value}`;
  return undefined;
}

/**
 * Whether the event opens anything. An ACL without a public grantee, a policy without a public statement, or a
 * block put with all four settings on is not an exposure; an unreadable request is judged on live state.
 */
export function eventExposes(event: ChangeEvent): boolean {
  switch (event.name) {
    case "PutBucketAcl":
      return publicGrantsInRequest(event.request).length > 0;
    case "PutBucketPolicy": {
      const policy = policyFromRequest(event.request);
      return policy === undefined || publicAllowStatements(policy.statements).length > 0;
    }
    case "PutBucketPublicAccessBlock": {
      const block = publicAccessBlockFromRequest(event.request);
      return block === undefined || settingsOff(block).length > 0;
    }
    default:
      return true;
  }
}

function covers(target: { ref: ResourceRef; tags: TagMap; live: boolean; event?: ChangeEvent }, ctx: ControlContext<PublicAccessOptions>) {
  if (target.event && !eventExposes(target.event)) return false;
  if (isAccountBlock(target.ref)) return true;
  const tags = target.live ? target.tags : tagsFromS3Request(target.event?.request);
  return declaredPublic(target.ref.id, tags, ctx.options) === undefined;
}

/**
 * The block the event left, when it says: a deletion leaves none, PutBucketPublicAccessBlock carries it. ACL,
 * policy and CreateBucket events do not show the block (new buckets get one by default since April 2023), so
 * offline they give no finding and live detection reads the block.
 */
function blockFromEvent(event: ChangeEvent): PublicAccessBlock | null | undefined {
  if (event.name === "DeleteBucketPublicAccessBlock" || event.name === "DeleteAccountPublicAccessBlock") return null;
  if (event.name === "PutBucketPublicAccessBlock") return publicAccessBlockFromRequest(event.request);
  return undefined;
}

function accountBlockFromEvent(event: ChangeEvent): ResourceRef[] {
  return [accountSettingRef(ACCOUNT_PUBLIC_ACCESS_BLOCK, event.account, event.region)];
}

function describeBlock(block: PublicAccessBlock | null): string {
  if (block === null) return "absent";
  const off = settingsOff(block);
  return off.length === 0 ? "fully on" : `on with ${off.join(", ")} off`;
}

/**
 * S3 public access: every bucket (and the account) keeps all four public-access-block settings on, except the
 * buckets the policy declares public. With them on, no ACL or bucket policy can open ePHI to the internet.
 */
export const control = defineSettingControl({
  id: "s3-bucket-public-access",
  title: "S3 buckets and the account block public access",
  category: "public-exposure",
  hipaa: {
    sections: [...CATEGORIES["public-exposure"].hipaa],
    why: "The public access block stops ACLs and bucket policies from granting anonymous access to ePHI, the access control 164.312(a)(1) requires.",
  },
  severity: "critical",
  // Blocking public access can cut off a site or a partner that relies on it: a person approves each fix.
  defaultMode: "approve",
  options: optionsSchema,
  triggers: [
    { source: S3_SOURCE, name: "CreateBucket", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "DeleteBucketPublicAccessBlock", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "PutBucketPublicAccessBlock", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "PutBucketAcl", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "PutBucketPolicy", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "DeleteAccountPublicAccessBlock", resources: accountBlockFromEvent },
  ],
  permissions: {
    // IAM authorises DeletePublicAccessBlock with the matching Put action, for buckets and for the account.
    detect: [
      "s3:GetBucketPublicAccessBlock",
      "s3:GetAccountPublicAccessBlock",
      "s3:GetBucketTagging",
      "s3:ListAllMyBuckets",
      "s3:GetBucketLocation",
    ],
    apply: [
      "s3:GetBucketPublicAccessBlock",
      "s3:PutBucketPublicAccessBlock",
      "s3:GetAccountPublicAccessBlock",
      "s3:PutAccountPublicAccessBlock",
    ],
    rollback: ["s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"],
  },
  kind: bucketsAndAccount,
  setting: blockSchema,

  async read(ref, ctx) {
    if (isAccountBlock(ref)) return readAccountPublicAccessBlock(await ctx.aws.s3Control(ref.region), ref.account);
    return readBucketPublicAccessBlock(await ctx.aws.s3(ref.region), ref.id);
  },
  /** Null deletes the block: rollback's way back to a bucket or account that had none. */
  async write(ref, block, ctx) {
    if (isAccountBlock(ref)) await writeAccountPublicAccessBlock(await ctx.aws.s3Control(ref.region), ref.account, block);
    else await writeBucketPublicAccessBlock(await ctx.aws.s3(ref.region), ref.id, block);
  },
  shortfall(block) {
    const off = settingsOff(block);
    if (off.length === 0) return undefined;
    return block === null ? "is absent, so ACLs and bucket policies can make objects public" : `has ${off.join(", ")} off`;
  },
  required: () => BLOCK_ALL_PUBLIC_ACCESS,
  describe: describeBlock,
  summarise: (ref) =>
    isAccountBlock(ref)
      ? `Turn all four S3 public access block settings on for account ${ref.account}.`
      : `Turn all four public access block settings on for bucket ${ref.id}.`,
  fromEvent: blockFromEvent,
  covers,
  notes: (ref) => [
    isAccountBlock(ref)
      ? 'Who loses what: every bucket in the account stops honouring public ACL grants (AllUsers, AuthenticatedUsers) and public policy statements (Principal "*"); anonymous readers of any public bucket, static websites included, lose access.'
      : `Who loses what: anonymous readers and other AWS accounts lose any access to bucket ${ref.id} granted through public ACL grants (AllUsers, AuthenticatedUsers) or bucket-policy statements for Principal "*"; new public ACLs and policies are refused.`,
    "Access granted to named IAM users, roles and accounts is unaffected.",
    "A bucket that must stay public (a static website) belongs in the control's publicBuckets option or carries its publicTag.",
    "Rollback puts back the saved settings, or deletes the block when there was none.",
  ],
});
