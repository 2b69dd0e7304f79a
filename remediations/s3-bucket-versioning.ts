import { BucketVersioningStatus, GetBucketVersioningCommand, PutBucketVersioningCommand } from "@aws-sdk/client-s3";
import { CATEGORIES, type ChangeEvent } from "@hipaa-remediate/core";
import { z } from "zod";
import { objectAt, stringOf } from "./lib/json-fields";
import { bucketRefsFromEvent, buckets, coversBucket, phiOnlyOption } from "./lib/s3-buckets";
import { defineSettingControl } from "./lib/setting-control";

const S3_SOURCE = "s3.amazonaws.com";

/** S3's three versioning states: a bucket that was never versioned reports no status at all. */
const versioningSchema = z.enum(["Enabled", "Suspended", "Unversioned"]);
type Versioning = z.output<typeof versioningSchema>;

const optionsSchema = z.strictObject({ phiOnly: phiOnlyOption }).prefault({});
export type VersioningOptions = z.output<typeof optionsSchema>;

/**
 * What the event says versioning became: a new bucket is unversioned; `PutBucketVersioning` carries
 * `VersioningConfiguration.Status` (some writers record the invalid "Disabled", which S3 treats as not enabled).
 */
function versioningFromEvent(event: ChangeEvent): Versioning | undefined {
  if (event.name === "CreateBucket") return "Unversioned";
  const status = stringOf(objectAt(event.request, "VersioningConfiguration")?.Status);
  if (status === undefined) return undefined;
  return status === "Enabled" ? "Enabled" : "Suspended";
}

/**
 * Bucket versioning. With versioning on, an overwritten or deleted object keeps its earlier versions, so ePHI
 * destroyed by mistake or by ransomware can be recovered. Suspending it quietly ends that protection.
 */
export const control = defineSettingControl({
  id: "s3-bucket-versioning",
  title: "S3 buckets keep versioning enabled",
  category: "backup",
  hipaa: {
    sections: [...CATEGORIES.backup.hipaa],
    why: "Versioning keeps retrievable copies of every object version, part of the data backup plan 164.308(a)(7)(ii)(A) requires for ePHI.",
  },
  severity: "medium",
  options: optionsSchema,
  triggers: [
    { source: S3_SOURCE, name: "CreateBucket", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "PutBucketVersioning", resources: bucketRefsFromEvent },
  ],
  permissions: {
    detect: ["s3:GetBucketVersioning", "s3:GetBucketTagging", "s3:ListAllMyBuckets", "s3:GetBucketLocation"],
    apply: ["s3:GetBucketVersioning", "s3:PutBucketVersioning"],
    rollback: ["s3:PutBucketVersioning"],
  },
  kind: buckets,
  setting: versioningSchema,

  async read(ref, ctx) {
    const response = await (await ctx.aws.s3(ref.region)).send(new GetBucketVersioningCommand({ Bucket: ref.id }));
    return response.Status ?? "Unversioned";
  },
  // MFA delete is left as it is: changing it needs the root user's MFA code, which the engine never holds.
  async write(ref, value, ctx) {
    const status = value === "Enabled" ? BucketVersioningStatus.Enabled : BucketVersioningStatus.Suspended;
    await (
      await ctx.aws.s3(ref.region)
    ).send(new PutBucketVersioningCommand({ Bucket: ref.id, VersioningConfiguration: { Status: status } }));
  },
  shortfall: (value) => {
    if (value === "Enabled") return undefined;
    return value === "Suspended" ? "has versioning suspended" : "has never had versioning enabled";
  },
  required: () => "Enabled",
  describe: (value) => ({ Enabled: "versioned", Suspended: "suspended", Unversioned: "never versioned" })[value],
  summarise: (ref) => `Enable versioning on bucket ${ref.id}.`,
  fromEvent: versioningFromEvent,
  covers: (target, ctx) => coversBucket(ctx.options.phiOnly, target, ctx),
  notes: () => [
    "Rollback sets versioning to Suspended: S3 cannot return a bucket that was never versioned to unversioned, and the object versions kept meanwhile stay until deleted or expired by a lifecycle rule.",
    "Kept versions are billed as storage; no one loses access.",
  ],
});
