import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketEncryptionCommand,
  PutBucketEncryptionCommand,
  PutBucketTaggingCommand,
  type ServerSideEncryption,
} from "@aws-sdk/client-s3";
import { canonicalJson, type ChangeEvent, type Finding, type JsonObject, type ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { isNotFound } from "../../../remediations/lib/aws-errors";
import { control } from "../../../remediations/s3-bucket-default-encryption";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { encryptionRules, putSseS3, scenario } from "./scenarios/s3-bucket-default-encryption";

const moto = useMoto();
const s3 = await moto.clients.s3(MOTO_REGION);
const KMS_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab";
const KMS_KEY_ARN = `arn:aws:kms:${MOTO_REGION}:${MOTO_ACCOUNT}:key/${KMS_KEY_ID}`;
const OTHER_KEY_ARN = `arn:aws:kms:${MOTO_REGION}:${MOTO_ACCOUNT}:key/99999999-0000-0000-0000-000000000000`;

const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = (options: Record<string, unknown> = {}) => offlineContext(moto, control, options);

/** A CloudTrail record for an S3 call, through the engine's own normaliser. */
function s3Event(name: string, request: JsonObject | null): ChangeEvent {
  return changeEventOf(cloudTrailRecord({ eventSource: "s3.amazonaws.com", eventName: name, requestParameters: request }));
}

/** The PutBucketEncryption request body as CloudTrail records it (XML turned into JSON). */
function putEncryptionRequest(bucket: string, rule: JsonObject | JsonObject[]): JsonObject {
  return {
    bucketName: bucket,
    Host: `${bucket}.s3.amazonaws.com`,
    encryption: "",
    ServerSideEncryptionConfiguration: { xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", Rule: rule },
  };
}

function triggerFor(name: string) {
  const trigger = control.triggers.find((t) => t.name === name);
  if (!trigger) throw new Error(`no trigger for ${name}`);
  return trigger;
}

async function createBucket(name: string, tags: { Key: string; Value: string }[] = []): Promise<ResourceRef> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  if (tags.length > 0) await s3.send(new PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: tags } }));
  return triggerFor("CreateBucket").resources(s3Event("CreateBucket", { bucketName: name }))[0] ?? expect.fail("no ref");
}

async function putKms(bucket: string, algorithm: ServerSideEncryption, key: string | undefined, bucketKey: boolean): Promise<void> {
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [
          {
            ApplyServerSideEncryptionByDefault: { SSEAlgorithm: algorithm, ...(key ? { KMSMasterKeyID: key } : {}) },
            BucketKeyEnabled: bucketKey,
          },
        ],
      },
    }),
  );
}

describe("s3-bucket-default-encryption: identity and options", () => {
  it("is registered under its file name", () => {
    expect(controlById("s3-bucket-default-encryption")).toBe(control);
    expect(control.category).toBe("encryption-at-rest");
    expect(control.severity).toBe("high");
  });

  it("defaults to SSE-S3 and rejects a blank key or an unknown option, naming the field", () => {
    expect(control.options.parse({})).toEqual({});
    expect(control.options.parse(undefined)).toEqual({});
    const blank = control.options.safeParse({ kmsKeyId: "  " });
    expect(blank.success).toBe(false);
    expect(blank.error?.issues[0]?.path).toEqual(["kmsKeyId"]);
    const typo = control.options.safeParse({ kmsKey: KMS_KEY_ARN });
    expect(typo.error?.issues[0]?.message).toMatch(/kmsKey/);
  });

  it("listens to CreateBucket, PutBucketEncryption and DeleteBucketEncryption with exact IAM actions", () => {
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "s3.amazonaws.com CreateBucket",
      "s3.amazonaws.com PutBucketEncryption",
      "s3.amazonaws.com DeleteBucketEncryption",
    ]);
    expect(control.permissions.apply).toContain("s3:PutEncryptionConfiguration");
    expect(control.permissions.detect).toContain("s3:GetEncryptionConfiguration");
  });
});

describe("s3-bucket-default-encryption: trigger extraction", () => {
  const extract = (request: JsonObject | null) =>
    triggerFor("DeleteBucketEncryption").resources(s3Event("DeleteBucketEncryption", request));

  it("reads a scalar bucketName (newer records)", () => {
    expect(extract({ bucketName: "phi-a" })).toEqual([
      { type: "AWS::S3::Bucket", id: "phi-a", arn: "arn:aws:s3:::phi-a", account: MOTO_ACCOUNT, region: MOTO_REGION },
    ]);
  });

  it("reads a list bucketName (older records) and drops duplicates", () => {
    expect(extract({ bucketName: ["phi-b", "phi-b"] }).map((r) => r.id)).toEqual(["phi-b"]);
  });

  it("yields nothing for null, empty or redacted parameters instead of throwing", () => {
    expect(extract(null)).toEqual([]);
    expect(extract({})).toEqual([]);
    expect(extract({ bucketName: "..." })).toEqual([]);
    expect(extract({ bucketName: [] })).toEqual([]);
    expect(extract({ bucketName: 42 })).toEqual([]);
  });
});

describe("s3-bucket-default-encryption: detection against moto", () => {
  it("finds a new bucket without default encryption, with its tags, confirmed against live state", async () => {
    const ref = await createBucket("phi-new", [{ Key: "DataClassification", Value: "PHI" }]);
    const event = s3Event("CreateBucket", { bucketName: "phi-new" });
    const finding = onlyViolation(await control.detect({ resource: ref, event }, context()));
    expect(finding).toMatchObject({
      control: "s3-bucket-default-encryption",
      resource: ref,
      confirmed: true,
      tags: { DataClassification: "PHI" },
      summary: "Bucket phi-new has no default encryption",
      event: { id: event.id, name: "CreateBucket", actor: `arn:aws:iam::${MOTO_ACCOUNT}:user/alice` },
    });
    expect(finding.evidence).toMatchObject({ current: null, required: { algorithm: "AES256" }, eventClaim: { kind: "unknown" } });
  });

  it("reports no-longer-applies for a bucket already encrypted with SSE-S3", async () => {
    const ref = await createBucket("phi-encrypted");
    await putSseS3(s3, "phi-encrypted");
    const reason = onlyCleared(
      await control.detect({ resource: ref, event: s3Event("CreateBucket", { bucketName: "phi-encrypted" }) }, context()),
    );
    expect(reason).toMatch(/phi-encrypted already has default encryption SSE-S3/);
  });

  it("trusts live state over a late DeleteBucketEncryption event when encryption is back", async () => {
    const ref = await createBucket("phi-late");
    await putKms("phi-late", "aws:kms", KMS_KEY_ARN, true);
    const verdicts = await control.detect(
      { resource: ref, event: s3Event("DeleteBucketEncryption", { bucketName: "phi-late" }) },
      context(),
    );
    expect(onlyCleared(verdicts)).toMatch(/SSE-KMS/);
  });

  it("reports no-longer-applies for a bucket deleted since the event", async () => {
    const ref = await createBucket("phi-gone");
    await s3.send(new DeleteBucketCommand({ Bucket: "phi-gone" }));
    expect(onlyCleared(await control.detect({ resource: ref }, context()))).toBe("bucket phi-gone no longer exists");
  });

  describe("with a required KMS key", () => {
    const kms = { kmsKeyId: KMS_KEY_ARN };

    it("flags SSE-S3 as weaker than the policy", async () => {
      const ref = await createBucket("phi-kms-aes");
      await putSseS3(s3, "phi-kms-aes");
      const finding = onlyViolation(await control.detect({ resource: ref }, context(kms)));
      expect(finding.summary).toBe(`Bucket phi-kms-aes uses AES256 but the policy requires SSE-KMS with key ${KMS_KEY_ARN}`);
      expect(finding.evidence.current).toEqual({ algorithm: "AES256", kmsKeyId: null, bucketKeyEnabled: false });
    });

    it("flags another key and a missing S3 Bucket Key", async () => {
      const other = await createBucket("phi-kms-other");
      await putKms("phi-kms-other", "aws:kms", OTHER_KEY_ARN, true);
      expect(onlyViolation(await control.detect({ resource: other }, context(kms))).summary).toMatch(/requires key/);
      const noBucketKey = await createBucket("phi-kms-nobk");
      await putKms("phi-kms-nobk", "aws:kms", KMS_KEY_ARN, false);
      expect(onlyViolation(await control.detect({ resource: noBucketKey }, context(kms))).summary).toMatch(/S3 Bucket Keys turned off/);
    });

    it("accepts the required key however it is written, and DSSE-KMS with it", async () => {
      const bare = await createBucket("phi-kms-bare");
      await putKms("phi-kms-bare", "aws:kms", KMS_KEY_ID, true);
      expect(await control.detect({ resource: bare }, context(kms))).toMatchObject([{ kind: "no-longer-applies" }]);
      const dsse = await createBucket("phi-kms-dsse");
      await putKms("phi-kms-dsse", "aws:kms:dsse", KMS_KEY_ARN, false);
      expect(await control.detect({ resource: dsse }, context(kms))).toMatchObject([{ kind: "no-longer-applies" }]);
    });
  });
});

describe("s3-bucket-default-encryption: offline detection from the event alone", () => {
  const ref: ResourceRef = {
    type: "AWS::S3::Bucket",
    id: "phi-offline",
    arn: "arn:aws:s3:::phi-offline",
    account: MOTO_ACCOUNT,
    region: MOTO_REGION,
  };

  it("treats DeleteBucketEncryption as an unconfirmed violation", async () => {
    const finding = onlyViolation(
      await control.detect({ resource: ref, event: s3Event("DeleteBucketEncryption", { bucketName: "phi-offline" }) }, offline()),
    );
    expect(finding.confirmed).toBe(false);
    expect(finding.tags).toEqual({});
    expect(finding.evidence).toMatchObject({ current: null, eventClaim: { kind: "removed" } });
  });

  it("cannot tell anything from CreateBucket, since AWS encrypts new buckets by default", async () => {
    expect(await control.detect({ resource: ref, event: s3Event("CreateBucket", { bucketName: "phi-offline" }) }, offline())).toEqual([]);
  });

  it("flags a PutBucketEncryption weaker than the policy, whether Rule is an object or a list", async () => {
    const aes = putEncryptionRequest("phi-offline", { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } });
    const finding = onlyViolation(
      await control.detect({ resource: ref, event: s3Event("PutBucketEncryption", aes) }, offline({ kmsKeyId: KMS_KEY_ARN })),
    );
    expect(finding).toMatchObject({ confirmed: false, evidence: { current: { algorithm: "AES256" }, eventClaim: { kind: "set" } } });

    const listed = putEncryptionRequest("phi-offline", [
      { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: KMS_KEY_ARN }, BucketKeyEnabled: "false" },
    ]);
    const summary = onlyViolation(
      await control.detect({ resource: ref, event: s3Event("PutBucketEncryption", listed) }, offline({ kmsKeyId: KMS_KEY_ARN })),
    ).summary;
    expect(summary).toMatch(/S3 Bucket Keys turned off/);
  });

  it("stays silent for a PutBucketEncryption that meets the policy or that it cannot read", async () => {
    const compliant = putEncryptionRequest("phi-offline", {
      ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: KMS_KEY_ARN },
      BucketKeyEnabled: true,
    });
    expect(
      await control.detect({ resource: ref, event: s3Event("PutBucketEncryption", compliant) }, offline({ kmsKeyId: KMS_KEY_ARN })),
    ).toEqual([]);
    expect(
      await control.detect({ resource: ref, event: s3Event("PutBucketEncryption", { bucketName: "phi-offline" }) }, offline()),
    ).toEqual([]);
    expect(await control.detect({ resource: ref, event: s3Event("PutBucketEncryption", null) }, offline())).toEqual([]);
    expect(await control.detect({ resource: ref }, offline())).toEqual([]);
  });
});

describe("s3-bucket-default-encryption: plan, apply, verify, rollback", () => {
  async function findingFor(bucket: string, options: Record<string, unknown> = {}): Promise<Finding> {
    const ref = await createBucket(bucket);
    return onlyViolation(await control.detect({ resource: ref }, context(options)));
  }

  it("plans purely: the same finding and options give the same serialisable plan, and the finding is untouched", async () => {
    const finding = await findingFor("phi-plan");
    const snapshot = structuredClone(finding);
    const options = control.options.parse({ kmsKeyId: KMS_KEY_ARN });
    const first = control.plan(finding, options);
    expect(control.plan(finding, options)).toEqual(first);
    expect(finding).toEqual(snapshot);
    expect(JSON.parse(canonicalJson(first))).toEqual(first);
    expect(first).toMatchObject({
      control: "s3-bucket-default-encryption",
      reversible: true,
      params: {
        bucket: "phi-plan",
        region: MOTO_REGION,
        required: { algorithm: "aws:kms", kmsKeyId: KMS_KEY_ARN, bucketKeyEnabled: true },
      },
    });
    expect(first.notifyOnly).toBeUndefined();
    expect(first.summary).toBe(`Set default encryption of bucket phi-plan to SSE-KMS with key ${KMS_KEY_ARN} and S3 Bucket Keys.`);
  });

  it("applies SSE-S3, verifies it, and rolls back to no default encryption", async () => {
    const ctx = context();
    const plan = control.plan(await findingFor("phi-apply"), ctx.options);
    const result = await control.apply(plan, ctx);
    expect(result.before).toEqual({ bucket: "phi-apply", region: MOTO_REGION, configuration: null });
    expect(await encryptionRules(s3, "phi-apply")).toMatchObject([{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }]);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true, state: { configuration: { algorithm: "AES256" } } });

    await control.rollback(plan, result.before, ctx);
    expect(await encryptionRules(s3, "phi-apply")).toEqual([]);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: "bucket phi-apply has no default encryption" });
  });

  it("applies SSE-KMS with the configured key and a Bucket Key, and rolls back to the previous KMS rule exactly", async () => {
    const ctx = context({ kmsKeyId: KMS_KEY_ARN });
    const ref = await createBucket("phi-apply-kms");
    await putKms("phi-apply-kms", "aws:kms", OTHER_KEY_ARN, false);
    const previous = await s3.send(new GetBucketEncryptionCommand({ Bucket: "phi-apply-kms" }));
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);

    const result = await control.apply(plan, ctx);
    expect(result.before).toMatchObject({ configuration: { algorithm: "aws:kms", kmsKeyId: OTHER_KEY_ARN, bucketKeyEnabled: false } });
    expect(await encryptionRules(s3, "phi-apply-kms")).toEqual([
      { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: KMS_KEY_ARN }, BucketKeyEnabled: true },
    ]);
    expect((await control.verify(plan, ctx)).ok).toBe(true);

    await control.rollback(plan, result.before, ctx);
    const restored = await s3.send(new GetBucketEncryptionCommand({ Bucket: "phi-apply-kms" }));
    expect(restored.ServerSideEncryptionConfiguration).toEqual(previous.ServerSideEncryptionConfiguration);
  });

  it("leaves a bucket that meets the policy by apply time untouched", async () => {
    const ctx = context();
    const plan = control.plan(await findingFor("phi-raced"), ctx.options);
    await putKms("phi-raced", "aws:kms", OTHER_KEY_ARN, true);
    const result = await control.apply(plan, ctx);
    expect(result.after).toEqual(result.before);
    expect(await encryptionRules(s3, "phi-raced")).toMatchObject([
      { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: OTHER_KEY_ARN } },
    ]);
  });

  it("fails apply with a not-found error when the bucket is gone, and verify says so", async () => {
    const ctx = context();
    const plan = control.plan(await findingFor("phi-vanished"), ctx.options);
    await s3.send(new DeleteBucketCommand({ Bucket: "phi-vanished" }));
    const failure = await control.apply(plan, ctx).then(
      () => expect.fail("apply should fail"),
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ name: "ResourceGoneError", message: "bucket phi-vanished no longer exists" });
    expect(isNotFound(failure)).toBe(true);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: "bucket phi-vanished no longer exists" });
  });

  it("refuses a malformed captured state, naming the field", async () => {
    const ctx = context();
    const plan = control.plan(await findingFor("phi-bad-before"), ctx.options);
    await expect(control.rollback(plan, { bucket: "phi-bad-before", region: MOTO_REGION }, ctx)).rejects.toThrow(/field configuration/);
    await expect(control.rollback(plan, { bucket: "someone-else", region: MOTO_REGION, configuration: null }, ctx)).rejects.toThrow(
      /field bucket/,
    );
    expect(await encryptionRules(s3, "phi-bad-before")).toEqual([]);
  });
});

describe("s3-bucket-default-encryption: sweep", () => {
  it("lists the account's buckets in the sweep's regions, with each bucket's own region", async () => {
    await createBucket("sweep-east");
    await (
      await moto.clients.s3("eu-west-1")
    ).send(new CreateBucketCommand({ Bucket: "sweep-west", CreateBucketConfiguration: { LocationConstraint: "eu-west-1" } }));

    const collect = async (regions: string[]) => {
      const refs: ResourceRef[] = [];
      for await (const ref of control.sweep({ ...context(), regions })) refs.push(ref);
      return refs;
    };
    const east = await collect([MOTO_REGION]);
    expect(east).toContainEqual({
      type: "AWS::S3::Bucket",
      id: "sweep-east",
      arn: "arn:aws:s3:::sweep-east",
      account: MOTO_ACCOUNT,
      region: MOTO_REGION,
    });
    expect(east.every((ref) => ref.region === MOTO_REGION)).toBe(true);
    expect(east.map((ref) => ref.id)).not.toContain("phi-gone");
    const both = await collect([MOTO_REGION, "eu-west-1"]);
    expect(both.map((r) => `${r.id}@${r.region}`)).toEqual(expect.arrayContaining(["sweep-east@us-east-1", "sweep-west@eu-west-1"]));
    expect(both).toHaveLength(east.length + 1);
  });
});

describe("s3-bucket-default-encryption: end-to-end scenario", () => {
  it("arranges a real violation that the control finds from the scenario's record, and the fix satisfies assertFixed", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    await scenario.assertUnchanged(moto, resource);
    const event = changeEventOf(record);
    const [extracted] = triggerFor("DeleteBucketEncryption").resources(event);
    expect(extracted).toEqual(resource);

    const ctx = context(scenario.options);
    const finding = onlyViolation(await control.detect({ resource, event }, ctx));
    expect(finding.tags).toEqual({ DataClassification: "PHI" });
    const plan = control.plan(finding, ctx.options);
    await control.apply(plan, ctx);
    await scenario.assertFixed(moto, resource);
    await expect(scenario.assertUnchanged(moto, resource)).rejects.toThrow();
  });

  it("makeCompliant turns the verdict into no-longer-applies", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    await scenario.makeCompliant(moto, resource);
    await scenario.assertFixed(moto, resource);
    const event = changeEventOf(record);
    expect(await control.detect({ resource, event }, context(scenario.options))).toMatchObject([{ kind: "no-longer-applies" }]);
  });
});
