import { DeleteBucketCommand } from "@aws-sdk/client-s3";
import { canonicalJson, type Finding, type JsonObject, type ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { bucketRef } from "../../../remediations/lib/arn";
import { objectAt } from "../../../remediations/lib/json-fields";
import { control } from "../../../remediations/s3-bucket-versioning";
import { liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusEventsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { PHI_TAGS, checkScenarioRoundTrip, createTestBucket, s3Event, sweepViolations, triggerOf } from "../../support/s3-buckets";
import { putVersioning, scenario, versioningStatus } from "./scenarios/s3-bucket-versioning";

const moto = useMoto();
const s3 = await moto.clients.s3(MOTO_REGION);
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = (options: Record<string, unknown> = {}) => offlineContext(moto, control, options);

function versioningRequest(bucket: string, configuration: JsonObject): JsonObject {
  return { bucketName: bucket, host: `${bucket}.s3.amazonaws.com`, VersioningConfiguration: configuration };
}

describe("s3-bucket-versioning: identity and options", () => {
  it("is registered, in the backup area, with exact IAM actions", () => {
    expect(controlById("s3-bucket-versioning")).toBe(control);
    expect(control.category).toBe("backup");
    expect(control.hipaa.sections).toContain("164.308(a)(7)(ii)(A)");
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "s3.amazonaws.com CreateBucket",
      "s3.amazonaws.com PutBucketVersioning",
    ]);
    expect(control.permissions).toEqual({
      detect: ["s3:GetBucketVersioning", "s3:GetBucketTagging", "s3:ListAllMyBuckets", "s3:GetBucketLocation"],
      apply: ["s3:GetBucketVersioning", "s3:PutBucketVersioning"],
      rollback: ["s3:PutBucketVersioning"],
    });
  });

  it("covers every bucket by default and rejects a bad option, naming the field", () => {
    expect(control.options.parse({})).toEqual({ phiOnly: false });
    const wrongType = control.options.safeParse({ phiOnly: "yes" });
    expect(wrongType.error?.issues[0]?.path).toEqual(["phiOnly"]);
    const typo = control.options.safeParse({ phiOnyl: true });
    expect(typo.error?.issues[0]?.message).toMatch(/phiOnyl/);
  });
});

describe("s3-bucket-versioning: trigger extraction", () => {
  const extract = (request: JsonObject | null) =>
    triggerOf(control, "PutBucketVersioning").resources(s3Event("PutBucketVersioning", request));

  it("reads the bucket from a scalar or a list bucketName, and nothing from null or redacted parameters", () => {
    expect(extract(versioningRequest("logs-a", { Status: "Suspended" }))).toEqual([bucketRef("logs-a", MOTO_ACCOUNT, MOTO_REGION)]);
    expect(extract({ bucketName: ["logs-b", "logs-b"] }).map((r) => r.id)).toEqual(["logs-b"]);
    expect(extract(null)).toEqual([]);
    expect(extract({ bucketName: "..." })).toEqual([]);
  });
});

describe("s3-bucket-versioning: offline detection from the event alone", () => {
  const ref = bucketRef("offline-bucket", MOTO_ACCOUNT, MOTO_REGION);
  const detect = (name: string, request: JsonObject | null, options: Record<string, unknown> = {}) =>
    control.detect({ resource: ref, event: s3Event(name, request) }, offline(options));

  it("flags Suspended (and the invalid Disabled some writers record), with or without MfaDelete", async () => {
    const finding = onlyViolation(
      await detect("PutBucketVersioning", versioningRequest("offline-bucket", { Status: "Suspended", MfaDelete: "Disabled" })),
    );
    expect(finding).toMatchObject({
      confirmed: false,
      summary: "Bucket offline-bucket has versioning suspended",
      evidence: { current: "Suspended", required: "Enabled" },
    });
    expect(
      onlyViolation(await detect("PutBucketVersioning", versioningRequest("offline-bucket", { Status: "Disabled" }))).evidence.current,
    ).toBe("Suspended");
  });

  it("flags a new bucket as never versioned, and stays silent for Enabled or an unreadable request", async () => {
    expect(onlyViolation(await detect("CreateBucket", { bucketName: "offline-bucket" })).summary).toBe(
      "Bucket offline-bucket has never had versioning enabled",
    );
    expect(await detect("PutBucketVersioning", versioningRequest("offline-bucket", { Status: "Enabled", MfaDelete: "Disabled" }))).toEqual(
      [],
    );
    expect(await detect("PutBucketVersioning", null)).toEqual([]);
    expect(await detect("PutBucketVersioning", { bucketName: "offline-bucket", VersioningConfiguration: "..." })).toEqual([]);
  });

  it("with phiOnly, judges offline only a bucket whose CreateBucket request tags it PHI", async () => {
    expect(await detect("PutBucketVersioning", versioningRequest("offline-bucket", { Status: "Suspended" }), { phiOnly: true })).toEqual(
      [],
    );
    const tagged = { bucketName: "offline-bucket", CreateBucketConfiguration: { Tags: { Tag: { Key: "PHI", Value: "true" } } } };
    expect(onlyViolation(await detect("CreateBucket", tagged, { phiOnly: true })).confirmed).toBe(false);
  });
});

describe("s3-bucket-versioning: live detection against moto", () => {
  it("confirms a suspended bucket, with its tags", async () => {
    const ref = await createTestBucket(s3, "live-suspended", PHI_TAGS);
    await putVersioning(s3, "live-suspended", "Suspended");
    const event = s3Event("PutBucketVersioning", versioningRequest("live-suspended", { Status: "Suspended" }));
    const finding = onlyViolation(await control.detect({ resource: ref, event }, context()));
    expect(finding).toMatchObject({
      confirmed: true,
      tags: { DataClassification: "PHI" },
      evidence: { current: "Suspended" },
      event: { id: event.id },
    });
  });

  it("trusts live state over a late event: a bucket versioned again no longer applies", async () => {
    const ref = await createTestBucket(s3, "live-reenabled");
    await putVersioning(s3, "live-reenabled", "Enabled");
    const event = s3Event("PutBucketVersioning", versioningRequest("live-reenabled", { Status: "Suspended" }));
    expect(onlyCleared(await control.detect({ resource: ref, event }, context()))).toBe(
      "bucket live-reenabled is versioned, which meets the policy",
    );
  });

  it("reports a deleted bucket as gone, and with phiOnly ignores a bucket without the PHI tag", async () => {
    const gone = await createTestBucket(s3, "live-gone");
    await s3.send(new DeleteBucketCommand({ Bucket: "live-gone" }));
    expect(onlyCleared(await control.detect({ resource: gone }, context()))).toBe("bucket live-gone no longer exists");
    const plain = await createTestBucket(s3, "live-not-phi");
    expect(await control.detect({ resource: plain }, context({ phiOnly: true }))).toEqual([]);
    expect(onlyViolation(await control.detect({ resource: plain }, context())).evidence.current).toBe("Unversioned");
  });
});

describe("s3-bucket-versioning: plan, apply, verify, rollback", () => {
  async function findingFor(bucket: string, status?: "Suspended"): Promise<Finding> {
    const ref = await createTestBucket(s3, bucket);
    if (status) await putVersioning(s3, bucket, status);
    return onlyViolation(await control.detect({ resource: ref }, context()));
  }

  it("plans purely, in plain words, saying what rollback cannot undo", async () => {
    const finding = await findingFor("plan-bucket");
    const plan = control.plan(finding, control.options.parse({}));
    expect(control.plan(finding, control.options.parse({}))).toEqual(plan);
    expect(JSON.parse(canonicalJson(plan))).toEqual(plan);
    expect(plan).toMatchObject({ summary: "Enable versioning on bucket plan-bucket.", reversible: true, params: { required: "Enabled" } });
    expect(plan.steps.join(" ")).toMatch(/set it to versioned \(now never versioned\)/);
    expect(plan.steps.join(" ")).toMatch(/cannot return a bucket that was never versioned to unversioned/);
  });

  it("enables a suspended bucket, verifies, and rolls back to Suspended exactly", async () => {
    const ctx = context();
    const plan = control.plan(await findingFor("apply-suspended", "Suspended"), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: "arn:aws:s3:::apply-suspended", value: "Suspended" });
    expect(await versioningStatus(s3, "apply-suspended")).toBe("Enabled");
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true, state: { value: "Enabled" } });
    await control.rollback(plan, applied.before, ctx);
    expect(await versioningStatus(s3, "apply-suspended")).toBe("Suspended");
  });

  it("rolls a never-versioned bucket back to Suspended, the nearest S3 allows", async () => {
    const ctx = context();
    const plan = control.plan(await findingFor("apply-new"), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toMatchObject({ value: "Unversioned" });
    await control.rollback(plan, applied.before, ctx);
    expect(await versioningStatus(s3, "apply-new")).toBe("Suspended");
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: "bucket apply-new has versioning suspended" });
  });

  it("fails apply as gone for a deleted bucket, and refuses a malformed captured state", async () => {
    const ctx = context();
    const plan = control.plan(await findingFor("apply-gone"), ctx.options);
    await expect(control.rollback(plan, { arn: "arn:aws:s3:::apply-gone", value: "Off" }, ctx)).rejects.toThrow(/field value/);
    await expect(control.rollback(plan, { arn: "arn:aws:s3:::other", value: "Suspended" }, ctx)).rejects.toThrow(/field arn/);
    await s3.send(new DeleteBucketCommand({ Bucket: "apply-gone" }));
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "ResourceGoneError" });
  });
});

describe("s3-bucket-versioning: sweep", () => {
  it("lists every bucket and finds the unversioned ones; with phiOnly only PHI buckets", async () => {
    await createTestBucket(s3, "sweep-versioned");
    await putVersioning(s3, "sweep-versioned", "Enabled");
    await createTestBucket(s3, "sweep-phi", PHI_TAGS);
    const violations = (options: Record<string, unknown>) => sweepViolations(control, context(options));
    const all = await violations({});
    expect(all).toContain("sweep-phi");
    expect(all).not.toContain("sweep-versioned");
    expect(await violations({ phiOnly: true })).toEqual(expect.arrayContaining(["sweep-phi"]));
    expect(await violations({ phiOnly: true })).not.toContain("live-not-phi");
  });
});

describe("s3-bucket-versioning: end-to-end scenario", () => {
  it("arranges a real violation the control finds from the record, and the fix satisfies assertFixed", async () => {
    await checkScenarioRoundTrip(moto, control, scenario, "PutBucketVersioning", () => context(scenario.options));
  });
});

describe.runIf(corpusAvailable())("s3-bucket-versioning: real corpus records", () => {
  it("flags exactly the PutBucketVersioning records that leave versioning off, for the named bucket", async () => {
    const trigger = triggerOf(control, "PutBucketVersioning");
    const events = corpusEventsFor(trigger);
    expect(events.length).toBeGreaterThan(0);
    let flagged = 0;
    for (const event of events) {
      const status = objectAt(event.request, "VersioningConfiguration")?.Status;
      const verdicts = (
        await Promise.all(trigger.resources(event).map((resource: ResourceRef) => control.detect({ resource, event }, offline())))
      ).flat();
      if (status === "Suspended" || status === "Disabled") {
        const finding = onlyViolation(verdicts);
        expect(finding.resource.id).toBe(event.request?.bucketName);
        flagged += 1;
      } else {
        expect(verdicts, `${event.origin} (${String(status)})`).toEqual([]);
      }
    }
    expect(flagged).toBeGreaterThan(0);
  });

  it("flags every real CreateBucket for its own bucket", async () => {
    const trigger = triggerOf(control, "CreateBucket");
    for (const event of corpusEventsFor(trigger)) {
      const [resource] = trigger.resources(event);
      if (!resource) throw new Error(`no bucket in ${event.origin}`);
      expect(onlyViolation(await control.detect({ resource, event }, offline())).evidence.current).toBe("Unversioned");
    }
  });
});
