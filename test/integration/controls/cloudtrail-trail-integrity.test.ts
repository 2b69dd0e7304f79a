import {
  AddTagsCommand,
  DeleteTrailCommand,
  GetEventSelectorsCommand,
  GetTrailCommand,
  ListTagsCommand,
  PutEventSelectorsCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from "@aws-sdk/client-cloudtrail";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import type { ChangeEvent, Finding, JsonObject, ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { BLIND_SPOT, control } from "../../../remediations/cloudtrail-trail-integrity";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusOutcomes, triggerNamed } from "../../support/control-checks";
import { corpusAvailable } from "../../support/corpus";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { isLogging, makeTrail, trailBucket, trailRefOf } from "./scenarios/cloudtrail-trail-integrity";

const moto = useMoto();
const OTHER_REGION = "eu-west-1";
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = (options: Record<string, unknown> = {}) => offlineContext(moto, control, options);
const cloudTrail = (region = MOTO_REGION) => moto.clients.cloudTrail(region);

function trailEvent(eventName: string, request: JsonObject | null, response: JsonObject | null = null, region = MOTO_REGION): ChangeEvent {
  return changeEventOf(
    cloudTrailRecord({
      eventSource: "cloudtrail.amazonaws.com",
      eventName,
      awsRegion: region,
      requestParameters: request,
      responseElements: response,
    }),
  );
}

const triggerFor = (name: string) => triggerNamed(control, name);

/** PutEventSelectors as the real records show it: data events only, management events switched off. */
const DATA_ONLY_SELECTORS = [
  {
    dataResources: [{ type: "AWS::S3::Object", values: [] }],
    excludeManagementEventSources: [],
    includeManagementEvents: false,
    readWriteType: "ReadOnly",
  },
];

/** Everything the trail shows that the control judges or restores. */
async function trailState(trail: ResourceRef) {
  const client = await cloudTrail(trail.region);
  const { Trail: description } = await client.send(new GetTrailCommand({ Name: trail.arn }));
  const selectors = await client.send(new GetEventSelectorsCommand({ TrailName: trail.arn }));
  return {
    logging: await isLogging(moto, trail),
    logFileValidation: description?.LogFileValidationEnabled,
    multiRegion: description?.IsMultiRegionTrail,
    kmsKeyId: description?.KmsKeyId,
    eventSelectors: selectors.EventSelectors,
    advancedEventSelectors: selectors.AdvancedEventSelectors,
  };
}

async function kmsKey(): Promise<string> {
  const response = await (await moto.clients.kms(MOTO_REGION)).send(new CreateKeyCommand({ Description: "trail logs" }));
  const arn = response.KeyMetadata?.Arn;
  if (!arn) throw new Error("CreateKey returned no ARN");
  return arn;
}

async function liveFinding(trail: ResourceRef, options: Record<string, unknown> = {}): Promise<Finding> {
  return onlyViolation(await control.detect({ resource: trail }, context(options)));
}

describe("cloudtrail-trail-integrity: identity and options", () => {
  it("is registered, critical, proposes by default, and declares exact IAM actions", () => {
    expect(controlById("cloudtrail-trail-integrity")).toBe(control);
    expect(control).toMatchObject({ category: "audit-logging", severity: "critical", defaultMode: "approve" });
    expect(control.hipaa.sections).toEqual(["164.312(b)", "164.308(a)(1)(ii)(D)", "164.312(c)(1)"]);
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "cloudtrail.amazonaws.com StopLogging",
      "cloudtrail.amazonaws.com DeleteTrail",
      "cloudtrail.amazonaws.com UpdateTrail",
      "cloudtrail.amazonaws.com PutEventSelectors",
    ]);
    expect(control.permissions.apply).toEqual([
      "cloudtrail:GetTrail",
      "cloudtrail:GetTrailStatus",
      "cloudtrail:GetEventSelectors",
      "cloudtrail:StartLogging",
      "cloudtrail:UpdateTrail",
      "cloudtrail:PutEventSelectors",
      "cloudtrail:CreateTrail",
      "cloudtrail:AddTags",
    ]);
    expect(control.permissions.rollback).toContain("cloudtrail:DeleteTrail");
    expect(control.permissions.detect).toContain("cloudtrail:DescribeTrails");
  });

  it("requires logging, validation, multi-region and management events by default, KMS only with a key", () => {
    expect(control.options.parse({})).toEqual({
      trails: "all",
      require: { logging: true, logFileValidation: true, multiRegion: true, managementEvents: true, kmsEncrypted: false },
      recreate: {},
    });
  });

  it("rejects bad options, naming the field", () => {
    expect(control.options.safeParse({ trails: "some" }).error?.issues[0]?.path).toEqual(["trails"]);
    expect(control.options.safeParse({ trails: [] }).error?.issues[0]?.path).toEqual(["trails"]);
    const noKey = control.options.safeParse({ require: { kmsEncrypted: true } });
    expect(noKey.error?.issues[0]).toMatchObject({ path: ["kmsKeyId"] });
    expect(noKey.error?.issues[0]?.message).toMatch(/require.kmsEncrypted/);
    expect(control.options.safeParse({ recreate: { "*": { s3KeyPrefix: "x" } } }).error?.issues[0]?.path).toEqual([
      "recreate",
      "*",
      "s3BucketName",
    ]);
    expect(control.options.safeParse({ kmsKeyId: "not a key" }).error?.issues[0]?.path).toEqual(["kmsKeyId"]);
    expect(control.options.safeParse({ require: { logginng: true } }).error?.issues[0]?.path).toEqual(["require"]);
  });
});

describe("cloudtrail-trail-integrity: trigger extraction", () => {
  it("reads a trail name in the event's region, or a trail ARN in the ARN's region and account", () => {
    expect(triggerFor("StopLogging").resources(trailEvent("StopLogging", { name: "main" }))).toEqual([trailRefOf("main")]);
    const byArn = triggerFor("DeleteTrail").resources(
      trailEvent("DeleteTrail", { name: "arn:aws:cloudtrail:us-west-2:111122223333:trail/org-trail" }),
    );
    expect(byArn).toEqual([trailRefOf("org-trail", "us-west-2", "111122223333")]);
    expect(triggerFor("UpdateTrail").resources(trailEvent("UpdateTrail", { name: "main", isMultiRegionTrail: false }))).toEqual([
      trailRefOf("main"),
    ]);
  });

  it("reads PutEventSelectors' trailName, and nothing from null or redacted parameters", () => {
    const put = triggerFor("PutEventSelectors");
    expect(put.resources(trailEvent("PutEventSelectors", { trailName: "main", eventSelectors: DATA_ONLY_SELECTORS }))).toEqual([
      trailRefOf("main"),
    ]);
    expect(put.resources(trailEvent("PutEventSelectors", null))).toEqual([]);
    expect(triggerFor("StopLogging").resources(trailEvent("StopLogging", { name: "..." }))).toEqual([]);
    expect(triggerFor("DeleteTrail").resources(trailEvent("DeleteTrail", null))).toEqual([]);
  });
});

describe("cloudtrail-trail-integrity: offline detection from the event alone", () => {
  const ref = trailRefOf("offline-trail");
  const detect = (name: string, request: JsonObject | null, options: Record<string, unknown> = {}, response: JsonObject | null = null) =>
    control.detect({ resource: ref, event: trailEvent(name, { name: "offline-trail", ...request }, response) }, offline(options));

  it("flags a stopped trail, saying the engine may be blind", async () => {
    const finding = onlyViolation(await detect("StopLogging", {}));
    expect(finding).toMatchObject({ confirmed: false, event: { name: "StopLogging" } });
    expect(finding.summary).toBe(`Trail offline-trail has stopped logging: ${BLIND_SPOT}`);
    expect(finding.evidence).toMatchObject({ current: { exists: true, logging: false, logFileValidation: null } });
  });

  it("flags a deleted trail", async () => {
    expect(onlyViolation(await detect("DeleteTrail", {})).summary).toBe(`Trail offline-trail was deleted: ${BLIND_SPOT}`);
  });

  it("flags an UpdateTrail that weakens the trail, and only what the policy requires", async () => {
    const weakened = onlyViolation(await detect("UpdateTrail", { isMultiRegionTrail: false, enableLogFileValidation: false }));
    expect(weakened.summary).toBe("Trail offline-trail has log file validation off, records only its home region");
    expect(await detect("UpdateTrail", { kmsKeyId: "" })).toEqual([]);
    const kmsRequired = { require: { kmsEncrypted: true }, kmsKeyId: "alias/trail-logs" };
    expect(onlyViolation(await detect("UpdateTrail", { kmsKeyId: "" }, kmsRequired)).summary).toBe(
      "Trail offline-trail has no KMS encryption",
    );
    expect(await detect("UpdateTrail", { isMultiRegionTrail: false }, { require: { multiRegion: false } })).toEqual([]);
    expect(await detect("UpdateTrail", { s3BucketName: "other-bucket" })).toEqual([]);
    // The response shows the whole trail when the request holds only the name.
    expect(onlyViolation(await detect("UpdateTrail", {}, {}, { logFileValidationEnabled: false })).evidence).toMatchObject({
      current: { logFileValidation: false },
    });
  });

  it("flags event selectors that drop management events, in either form, and not those that keep them", async () => {
    const dropped = onlyViolation(await detect("PutEventSelectors", { trailName: "offline-trail", eventSelectors: DATA_ONLY_SELECTORS }));
    expect(dropped.summary).toBe(`Trail offline-trail no longer records management write events: ${BLIND_SPOT}`);
    const readOnly = [{ includeManagementEvents: true, readWriteType: "ReadOnly", dataResources: [] }];
    expect(onlyViolation(await detect("PutEventSelectors", { eventSelectors: readOnly })).confirmed).toBe(false);
    expect(await detect("PutEventSelectors", { eventSelectors: [{ includeManagementEvents: true, readWriteType: "All" }] })).toEqual([]);
    const advancedData = [{ name: "S3 data", fieldSelectors: [{ field: "eventCategory", equals: ["Data"] }] }];
    expect(onlyViolation(await detect("PutEventSelectors", { advancedEventSelectors: advancedData })).evidence).toMatchObject({
      current: { eventSelectors: { form: "advanced" } },
    });
    const advancedManagement = [{ name: "mgmt", fieldSelectors: [{ field: "eventCategory", equals: ["Management"] }] }];
    expect(await detect("PutEventSelectors", { advancedEventSelectors: advancedManagement })).toEqual([]);
    expect(await detect("PutEventSelectors", { eventSelectors: "..." })).toEqual([]);
  });

  it("leaves trails the policy does not name alone", async () => {
    expect(await detect("StopLogging", {}, { trails: ["org-trail"] })).toEqual([]);
    expect(await detect("StopLogging", {}, { trails: ["offline-trail"] })).toHaveLength(1);
  });
});

describe("cloudtrail-trail-integrity: live detection on moto", () => {
  it("confirms a stopped trail, and a late event for a restarted one no longer applies", async () => {
    const trail = await makeTrail(moto, "live-stop");
    await (await cloudTrail()).send(new StopLoggingCommand({ Name: trail.id }));
    const event = trailEvent("StopLogging", { name: trail.arn });
    const finding = onlyViolation(await control.detect({ resource: trail, event }, context()));
    expect(finding).toMatchObject({
      confirmed: true,
      evidence: { current: { logging: false, logFileValidation: true, multiRegion: true } },
    });
    await control.apply(control.plan(finding, context().options), context());
    const reason = onlyCleared(await control.detect({ resource: trail, event }, context()));
    expect(reason).toMatch(
      new RegExp(`^trail ${trail.id} is logging, log file validation on, multi-region, no KMS key, management events recorded`),
    );
  });

  it("confirms a deleted trail as a violation, not as gone", async () => {
    const trail = await makeTrail(moto, "live-deleted");
    await (await cloudTrail()).send(new DeleteTrailCommand({ Name: trail.id }));
    const finding = await liveFinding(trail);
    expect(finding).toMatchObject({ confirmed: true, summary: `Trail ${trail.id} was deleted: ${BLIND_SPOT}`, tags: {} });
  });

  it("reads the trail's tags for overrides and exemptions", async () => {
    const trail = await makeTrail(moto, "live-tags");
    const client = await cloudTrail();
    await client.send(new AddTagsCommand({ ResourceId: trail.arn, TagsList: [{ Key: "Environment", Value: "prod" }] }));
    await client.send(new StopLoggingCommand({ Name: trail.id }));
    expect((await liveFinding(trail)).tags).toEqual({ Environment: "prod" });
  });
});

describe("cloudtrail-trail-integrity: plans", () => {
  it("plans a reversible restart in plain words", async () => {
    const trail = await makeTrail(moto, "plan-stop");
    await (await cloudTrail()).send(new StopLoggingCommand({ Name: trail.id }));
    const plan = control.plan(await liveFinding(trail), context().options);
    expect(plan).toMatchObject({ reversible: true, params: { required: { logging: true } } });
    expect(plan.notifyOnly).toBeUndefined();
    expect(plan.summary).toMatch(new RegExp(`^Set trail ${trail.id} to logging, `));
    expect(plan.steps[1]).toMatch(/\(now not logging, /);
  });

  it("only notifies about a deleted trail the policy gives no settings for", async () => {
    const ref = trailRefOf("plan-deleted");
    const finding = onlyViolation(await control.detect({ resource: ref, event: trailEvent("DeleteTrail", { name: ref.id }) }, offline()));
    const plan = control.plan(finding, control.options.parse({}));
    expect(plan).toMatchObject({ notifyOnly: true, reversible: false });
    expect(plan.summary).toBe("Report that trail plan-deleted is deleted; the engine cannot change it.");
    expect(plan.steps[0]).toContain("gives no settings to recreate it");
    expect(plan.steps[0]).toContain("controls.cloudtrail-trail-integrity.options.recreate");
    expect(plan.steps[0]).toContain("EventBridge receives management events only while a trail records them");
    await expect(control.apply(plan, context())).rejects.toThrow(/cannot apply trail plan-deleted/);
  });

  it("plans the recreation of a deleted trail from the policy's settings, per trail or by default", async () => {
    const ref = trailRefOf("plan-recreate");
    const finding = onlyViolation(await control.detect({ resource: ref, event: trailEvent("DeleteTrail", { name: ref.id }) }, offline()));
    const byName = control.plan(
      finding,
      control.options.parse({ recreate: { "plan-recreate": { s3BucketName: "audit-logs" }, "*": { s3BucketName: "other" } } }),
    );
    expect(byName.notifyOnly).toBeUndefined();
    expect(byName.params.required).toMatchObject({ exists: true, logging: true, s3BucketName: "audit-logs", multiRegion: true });
    expect(byName.steps.join(" ")).toContain(
      `CreateTrail plan-recreate in ${MOTO_REGION} delivering to bucket audit-logs, then StartLogging`,
    );
    expect(byName.steps.join(" ")).toContain("Rollback deletes the recreated trail");
    const byDefault = control.plan(finding, control.options.parse({ recreate: { "*": { s3BucketName: "other" } } }));
    expect(byDefault.params.required).toMatchObject({ s3BucketName: "other" });
  });
});

describe("cloudtrail-trail-integrity: apply, verify and rollback on moto", () => {
  it("restarts a stopped trail, verifies it, and stops it again on rollback", async () => {
    const trail = await makeTrail(moto, "fix-stop");
    await (await cloudTrail()).send(new StopLoggingCommand({ Name: trail.arn }));
    const ctx = context();
    const plan = control.plan(await liveFinding(trail), ctx.options);
    const before = await trailState(trail);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toMatchObject({ arn: trail.arn, value: { logging: false } });
    expect(await isLogging(moto, trail)).toBe(true);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect(await trailState(trail)).toEqual(before);
  });

  it("puts back validation, multi-region, the KMS key and management events, and rolls back exactly", async () => {
    const key = await kmsKey();
    const trail = await makeTrail(moto, "fix-weakened");
    const client = await cloudTrail();
    await client.send(new UpdateTrailCommand({ Name: trail.id, EnableLogFileValidation: false, IsMultiRegionTrail: false, KmsKeyId: "" }));
    await client.send(
      new PutEventSelectorsCommand({
        TrailName: trail.id,
        EventSelectors: [
          { ReadWriteType: "ReadOnly", IncludeManagementEvents: false, DataResources: [{ Type: "AWS::S3::Object", Values: [] }] },
        ],
      }),
    );
    const options = { require: { kmsEncrypted: true }, kmsKeyId: key };
    const ctx = context(options);
    const finding = await liveFinding(trail, options);
    expect(finding.summary).toBe(
      `Trail ${trail.id} no longer records management write events, has log file validation off, records only its home region, has no KMS encryption: ${BLIND_SPOT}`,
    );
    const weakened = await trailState(trail);
    const plan = control.plan(finding, ctx.options);
    await control.apply(plan, ctx);
    const fixed = await trailState(trail);
    expect(fixed).toMatchObject({ logging: true, logFileValidation: true, multiRegion: true, kmsKeyId: key });
    // The data-event selector stays; a management selector is added beside it.
    expect(fixed.eventSelectors).toEqual([
      weakened.eventSelectors?.[0],
      { ReadWriteType: "All", IncludeManagementEvents: true, DataResources: [] },
    ]);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    // A second apply, in a fresh re-check scope as executePlan gives it, finds the trail fixed and changes nothing.
    const applied = await control.apply(plan, { ...ctx, reads: ctx.reads.forRecheck() });
    expect(applied.before).toEqual(applied.after);
    // Rollback from what the first apply captured: the weakened trail, field for field.
    await control.rollback(plan, { arn: trail.arn, value: finding.evidence.current ?? null }, ctx);
    expect(await trailState(trail)).toEqual(weakened);
  });

  it("adds a management selector to advanced event selectors and restores them on rollback", async () => {
    const trail = await makeTrail(moto, "fix-advanced");
    const client = await cloudTrail();
    await client.send(
      new PutEventSelectorsCommand({
        TrailName: trail.id,
        AdvancedEventSelectors: [
          {
            Name: "S3 writes",
            FieldSelectors: [
              { Field: "eventCategory", Equals: ["Data"] },
              { Field: "resources.type", Equals: ["AWS::S3::Object"] },
            ],
          },
        ],
      }),
    );
    const ctx = context();
    const before = await trailState(trail);
    const plan = control.plan(await liveFinding(trail), ctx.options);
    const applied = await control.apply(plan, ctx);
    const fixed = await trailState(trail);
    expect(fixed.advancedEventSelectors?.at(-1)).toEqual({
      Name: "Management events (restored by hipaa-remediate)",
      FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }],
    });
    expect(fixed.advancedEventSelectors).toHaveLength(2);
    await control.rollback(plan, applied.before, ctx);
    expect(await trailState(trail)).toEqual(before);
  });

  it("recreates a deleted trail from the policy's settings, tagged, and deletes it on rollback", async () => {
    const trail = await makeTrail(moto, "fix-recreate");
    await (await cloudTrail()).send(new DeleteTrailCommand({ Name: trail.id }));
    const bucket = await trailBucket(moto);
    const options = { recreate: { [trail.id]: { s3BucketName: bucket, s3KeyPrefix: "audit" } } };
    const ctx = context(options);
    const plan = control.plan(await liveFinding(trail, options), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toMatchObject({ value: { exists: false } });
    const recreated = await trailState(trail);
    expect(recreated).toMatchObject({ logging: true, logFileValidation: true, multiRegion: true });
    const { Trail: description } = await (await cloudTrail()).send(new GetTrailCommand({ Name: trail.arn }));
    expect(description).toMatchObject({ S3BucketName: bucket, S3KeyPrefix: "audit", IncludeGlobalServiceEvents: true });
    const tags = await (await cloudTrail()).send(new ListTagsCommand({ ResourceIdList: [trail.arn] }));
    expect(tags.ResourceTagList?.[0]?.TagsList).toEqual([{ Key: ctx.engine.tagKey, Value: "recreated" }]);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    await expect((await cloudTrail()).send(new GetTrailCommand({ Name: trail.arn }))).rejects.toMatchObject({
      name: "TrailNotFoundException",
    });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false });
  });

  it("does not recreate a trail deleted after a plan to restart it: that deletion is its own finding", async () => {
    const trail = await makeTrail(moto, "fix-gone");
    await (await cloudTrail()).send(new StopLoggingCommand({ Name: trail.id }));
    const ctx = context({ recreate: { "*": { s3BucketName: "audit-logs" } } });
    const plan = control.plan(await liveFinding(trail), ctx.options);
    await (await cloudTrail()).send(new DeleteTrailCommand({ Name: trail.id }));
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "ResourceGoneError", Code: "NotFound" });
    await expect((await cloudTrail()).send(new GetTrailCommand({ Name: trail.arn }))).rejects.toMatchObject({
      name: "TrailNotFoundException",
    });
  });

  it("refuses a captured state for another trail or of the wrong shape, naming the field", async () => {
    const trail = await makeTrail(moto, "fix-refuse");
    await (await cloudTrail()).send(new StopLoggingCommand({ Name: trail.id }));
    const ctx = context();
    const plan = control.plan(await liveFinding(trail), ctx.options);
    const applied = await control.apply(plan, ctx);
    await expect(control.rollback(plan, { ...applied.before, arn: trailRefOf("other").arn }, ctx)).rejects.toThrow(/field arn/);
    await expect(control.rollback(plan, { arn: trail.arn, value: { exists: "yes" } }, ctx)).rejects.toThrow(/field value.exists/);
    expect(await isLogging(moto, trail)).toBe(true);
  });
});

describe("cloudtrail-trail-integrity: sweep", () => {
  it("lists each trail once, in its home region, and finds the stopped ones", async () => {
    const home = await makeTrail(moto, "sweep-home");
    const away = await makeTrail(moto, "sweep-away", OTHER_REGION);
    await (await cloudTrail(OTHER_REGION)).send(new StopLoggingCommand({ Name: away.id }));
    const ctx = { ...context(), regions: [MOTO_REGION, OTHER_REGION] };
    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs.filter((ref) => ref.id === home.id)).toEqual([home]);
    expect(refs.filter((ref) => ref.id === away.id)).toEqual([away]);
    expect(onlyViolation(await control.detect({ resource: away }, ctx)).summary).toContain("has stopped logging");
    expect(onlyCleared(await control.detect({ resource: home }, ctx))).toContain("meets the policy");
  });

  it("also yields a named trail that no longer exists, in its recreate region, so its deletion is noticed", async () => {
    const kept = await makeTrail(moto, "sweep-kept");
    const options = {
      trails: [kept.id, "sweep-missing"],
      recreate: { "sweep-missing": { s3BucketName: "audit-logs", region: OTHER_REGION } },
    };
    const ctx = { ...context(options), regions: [MOTO_REGION, OTHER_REGION] };
    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    const missing = trailRefOf("sweep-missing", OTHER_REGION);
    expect(refs).toContainEqual(kept);
    expect(refs).toContainEqual(missing);
    expect(onlyViolation(await control.detect({ resource: missing }, ctx)).summary).toMatch(/^Trail sweep-missing was deleted/);
    // Trails outside the named list get no verdict at all.
    const other = refs.find((ref) => ref.id !== kept.id && ref.id !== "sweep-missing");
    if (other) expect(await control.detect({ resource: other }, ctx)).toEqual([]);
  });
});

describe.runIf(corpusAvailable())("cloudtrail-trail-integrity: real corpus records", () => {
  /** Each record's trail and what offline detection concludes: its shortfall, "compliant", or "no resource" when redacted or null. */
  const outcomes = (name: string) =>
    corpusOutcomes(
      control,
      name,
      offline(),
      (resource, finding) =>
        `${resource.region} ${resource.id}: ${finding ? String(finding.evidence.shortfall).split(":")[0] : "compliant"}`,
    );

  it("flags every StopLogging that names a trail, by name or by ARN", async () => {
    expect(await outcomes("StopLogging")).toEqual(
      [
        "no resource",
        "no resource",
        "no resource",
        "no resource",
        // Stratus Red Team's detonation logs carry scrambled region names; the ARN-less name keeps the event's region.
        "apiso-centralnorth-2r stratus-red-team-ct-stop-trail-buykxbqejv: has stopped logging",
        "us-west-2 example-trail: has stopped logging",
      ].sort(),
    );
  });

  it("flags every DeleteTrail that names a trail", async () => {
    const results = await outcomes("DeleteTrail");
    expect(results.filter((r) => r !== "no resource")).toEqual(
      [
        "megov-westwest-1r stratus-red-team-cloudtraild-trail-kvrwohmiai: was deleted",
        "us-east-1 my-cloudtrail-trail-2: was deleted",
        "us-west-2 example-trail: was deleted",
      ].sort(),
    );
  });

  it("flags the UpdateTrail that makes a trail single-region, and not the redacted one", async () => {
    const results = await outcomes("UpdateTrail");
    expect(results.filter((r) => r !== "no resource")).toEqual(["us-east-1 management-events: records only its home region"]);
  });

  it("flags PutEventSelectors that drop management events and not the one that keeps them", async () => {
    const results = await outcomes("PutEventSelectors");
    expect(results.filter((r) => r !== "no resource")).toEqual(
      [
        "us-west-2 sample-cloudtrail-name: compliant",
        "us-west-2 sample-cloudtrail-name: no longer records management write events",
        "cn-northsouth-2r stratus-red-team-ctes-trail-khlvciwdor: no longer records management write events",
      ].sort(),
    );
  });
});
