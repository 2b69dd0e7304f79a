import { CATEGORIES, type ChangeEvent, type JsonObject } from "@hipaa-remediate/core";
import { z } from "zod";
import {
  conditionValues,
  isPublicPrincipal,
  mergeStatement,
  policyFromRequest,
  readBucketPolicy,
  statementCoversAction,
  statementCoversResource,
  statementsOf,
  writeBucketPolicy,
} from "./lib/bucket-policy";
import { stringOf } from "./lib/json-fields";
import { bucketRefsFromEvent, buckets, coversBucket, phiOnlyOption } from "./lib/s3-buckets";
import { defineSettingControl } from "./lib/setting-control";

const S3_SOURCE = "s3.amazonaws.com";

/** Marks the engine's statement, so a re-run replaces it instead of adding a second one. */
export const TLS_ONLY_SID = "HipaaRemediateDenyInsecureTransport";

const optionsSchema = z.strictObject({ phiOnly: phiOnlyOption }).prefault({});
export type TlsOnlyOptions = z.output<typeof optionsSchema>;

/** The bucket policy text, or null when the bucket has none. */
const policySchema = z.string().nullable();
type PolicyText = z.output<typeof policySchema>;

/** What the engine appends: deny every S3 action on the bucket and its objects to anyone not using TLS. */
export function tlsOnlyStatement(bucket: string): JsonObject {
  return {
    Sid: TLS_ONLY_SID,
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

/**
 * A statement that refuses plain HTTP: a Deny for everyone, conditioned on `aws:SecureTransport` false (`Bool`,
 * or `BoolIfExists`, which denies too when the key is absent), that covers at least reading and writing the
 * bucket's objects (`s3:GetObject` and `s3:PutObject`, which `s3:*` and `*` include). Prowler's
 * s3_bucket_secure_transport_policy accepts the same; a Deny limited to other actions does not protect ePHI in
 * transit.
 */
export function deniesPlainHttp(statement: JsonObject, bucket: string): boolean {
  if (statement.Effect !== "Deny" || !isPublicPrincipal(statement.Principal)) return false;
  const insecure = [
    ...conditionValues(statement, "Bool", "aws:SecureTransport"),
    ...conditionValues(statement, "BoolIfExists", "aws:SecureTransport"),
  ];
  if (!insecure.includes("false")) return false;
  const objects = `arn:aws:s3:::${bucket}/any-object-key`;
  return (
    statementCoversAction(statement, "s3:GetObject") &&
    statementCoversAction(statement, "s3:PutObject") &&
    statementCoversResource(statement, objects)
  );
}

function hasTlsDeny(policy: PolicyText, bucket: string): boolean {
  return statementsOf(policy, bucket).some((statement) => deniesPlainHttp(statement, bucket));
}

/** The policy as the event left it: PutBucketPolicy carries it (object or JSON text), the others leave none. */
function policyFromEvent(event: ChangeEvent): PolicyText | undefined {
  if (event.name === "CreateBucket" || event.name === "DeleteBucketPolicy") return null;
  const document = policyFromRequest(event.request);
  return document ? JSON.stringify(document.document) : undefined;
}

function describePolicy(policy: PolicyText): string {
  if (policy === null) return "without a bucket policy";
  // The text was read from S3 or from a plan this control wrote; either way it parsed once already.
  const statements = statementsOf(policy, "(this bucket)");
  const names = statements.map((statement, index) => stringOf(statement.Sid) ?? `#${index + 1}`);
  return `under a policy of ${statements.length} statement${statements.length === 1 ? "" : "s"} (${names.join(", ")})`;
}

/**
 * A bucket policy that refuses requests made without TLS. Without it, S3 answers plain HTTP requests, and ePHI
 * read or written that way crosses the network unencrypted.
 */
export const control = defineSettingControl({
  id: "s3-bucket-tls-only",
  title: "S3 bucket policies refuse requests without TLS",
  category: "encryption-in-transit",
  hipaa: {
    sections: [...CATEGORIES["encryption-in-transit"].hipaa],
    why: "Denying aws:SecureTransport false makes every read and write of the bucket's ePHI travel over TLS, the transmission security 164.312(e)(1) and (e)(2)(ii) require.",
  },
  severity: "high",
  options: optionsSchema,
  triggers: [
    { source: S3_SOURCE, name: "CreateBucket", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "PutBucketPolicy", resources: bucketRefsFromEvent },
    { source: S3_SOURCE, name: "DeleteBucketPolicy", resources: bucketRefsFromEvent },
  ],
  permissions: {
    detect: ["s3:GetBucketPolicy", "s3:GetBucketTagging", "s3:ListAllMyBuckets", "s3:GetBucketLocation"],
    apply: ["s3:GetBucketPolicy", "s3:PutBucketPolicy"],
    rollback: ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
  },
  kind: buckets,
  setting: policySchema,

  read: async (ref, ctx) => readBucketPolicy(await ctx.aws.s3(ref.region), ref.id),
  /**
   * Merges the statement into the policy as it is now rather than writing the planned text: a statement someone
   * added between the plan and an approval is kept. The planned text differs from the result only by that edit.
   */
  async write(ref, _planned, ctx) {
    const s3 = await ctx.aws.s3(ref.region);
    const current = await readBucketPolicy(s3, ref.id);
    await writeBucketPolicy(s3, ref.id, mergeStatement(current, tlsOnlyStatement(ref.id), ref.id));
  },
  restore: async (ref, before, ctx) => writeBucketPolicy(await ctx.aws.s3(ref.region), ref.id, before),
  shortfall(policy, _options, ref) {
    if (hasTlsDeny(policy, ref.id)) return undefined;
    if (policy === null) return "has no bucket policy, so it accepts requests without TLS";
    return "has a bucket policy that does not deny requests without TLS (aws:SecureTransport false)";
  },
  required: (policy, _options, ref) => mergeStatement(policy, tlsOnlyStatement(ref.id), ref.id),
  describe: describePolicy,
  summarise: (ref) => `Add a statement denying requests without TLS (Sid ${TLS_ONLY_SID}) to the policy of bucket ${ref.id}.`,
  fromEvent: policyFromEvent,
  covers: (target, ctx) => coversBucket(ctx.options.phiOnly, target, ctx),
  notes: (ref) => [
    `Every existing statement of the policy stays as it is, in its order; the deny is appended with Sid ${TLS_ONLY_SID} (replacing an earlier one with that Sid).`,
    `Who loses what: clients that call bucket ${ref.id} over plain HTTP are refused; HTTPS callers, the AWS console, CLI and SDKs (TLS by default) keep their access.`,
    "Rollback puts back the saved policy text, or deletes the policy when the bucket had none.",
  ],
});
