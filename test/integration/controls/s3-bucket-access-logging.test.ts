import { DeleteBucketCommand } from "@aws-sdk/client-s3";
import { canonicalJson, type JsonObject } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { bucketRef } from "../../../remediations/lib/arn";
import { objectAt, stringOf } from "../../../remediations/lib/json-fields";
import { control } from "../../../remediations/s3-bucket-access-logging";
import { liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusEventsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { PHI_TAGS, checkScenarioRoundTrip, createTestBucket, s3Event, sweepViolations, triggerOf } from "../../support/s3-buckets";
import { LOG_SINK, ensureLogSink, loggingOf, putLogging, scenario } from "./scenarios/s3-bucket-access-logging";

const moto = useMoto();
const s3 = await moto.clients.s3(MOTO_REGION);
const WITH_SINK = { targetBucket: LOG_SINK };
const context = (options: Record<string, unknown> = WITH_SINK) => liveContext(moto, control, options);
const offline = (options: Record<string, unknown> = WITH_SINK) => offlineContext(moto, control, options);

const LOGGING_OFF = { xmlns: "http://s3.amazonaws.com/doc/2006-03-01/" };
const PHI_CREATE = { CreateBucketConfiguration: { Tags: { Tag: [{ Key: "DataClassification", Value: "PHI" }] } } };

async function phiBucketWithoutLogging(name: string) {
  await ensureLogSink(s3);
  return createTestBucket(s3, name, PHI_TAGS);
}

describe("s3-bucket-access-logging: identity and options", () => {
  it("is registered, in the audit-logging area, with exact IAM actions", () => {
    expect(controlById("s3-bucket-access-logging")).toBe(control);
    expect(control.category).toBe("audit-logging");
    expect(control.hipaa.sections).toContain("164.312(b)");
    expect(control.triggers.map((t) => t.name)).toEqual(["CreateBucket", "PutBucketLogging"]);
    expect(control.permissions).toEqual({
      detect: ["s3:GetBucketLogging", "s3:GetBucketTagging", "s3:ListAllMyBuckets", "s3:GetBucketLocation"],
      apply: ["s3:GetBucketLogging", "s3:PutBucketLogging"],
      rollback: ["s3:PutBucketLogging"],
    });
  });

  it("has no target by default, a per-bucket prefix, and rejects a bad bucket name naming the field", () => {
    expect(control.options.parse({})).toEqual({ targetPrefix: "s3-access-logs/{bucket}/" });
    const bad = control.options.safeParse({ targetBucket: "Logs_Bucket" });
    expect(bad.error?.issues[0]?.path).toEqual(["targetBucket"]);
    expect(bad.error?.issues[0]?.message).toMatch(/S3 bucket name/);
    expect(control.options.safeParse({ target: LOG_SINK }).error?.issues[0]?.message).toMatch(/target/);
  });

  it("reads the bucket from PutBucketLogging, and nothing from null parameters", () => {
    const trigger = triggerOf(control, "PutBucketLogging");
    expect(trigger.resources(s3Event("PutBucketLogging", { bucketName: "b-1", BucketLoggingStatus: LOGGING_OFF }))).toEqual([
      bucketRef("b-1", MOTO_ACCOUNT, MOTO_REGION),
    ]);
    expect(trigger.resources(s3Event("PutBucketLogging", null))).toEqual([]);
  });
});

describe("s3-bucket-access-logging: offline detection from the event alone", () => {
  const ref = bucketRef("offline-phi", MOTO_ACCOUNT, MOTO_REGION);
  const detect = (name: string, request: JsonObject | null) => control.detect({ resource: ref, event: s3Event(name, request) }, offline());

  it("flags a CreateBucket whose request tags the bucket PHI: it starts without logging", async () => {
    const finding = onlyViolation(await detect("CreateBucket", { bucketName: "offline-phi", ...PHI_CREATE }));
    expect(finding).toMatchObject({
      confirmed: false,
      summary: "Bucket offline-phi has server access logging off",
      evidence: { current: null, required: { targetBucket: LOG_SINK, targetPrefix: "s3-access-logs/offline-phi/" } },
    });
  });

  it("cannot judge a PutBucketLogging offline: the event does not say whether the bucket holds PHI", async () => {
    expect(await detect("PutBucketLogging", { bucketName: "offline-phi", BucketLoggingStatus: LOGGING_OFF })).toEqual([]);
    expect(await detect("CreateBucket", { bucketName: "offline-phi" })).toEqual([]);
  });
});

describe("s3-bucket-access-logging: live detection against moto", () => {
  it("confirms a PHI bucket with logging off, whatever the event claims", async () => {
    const ref = await phiBucketWithoutLogging("live-off");
    const event = s3Event("PutBucketLogging", { bucketName: "live-off", BucketLoggingStatus: LOGGING_OFF });
    expect(onlyViolation(await control.detect({ resource: ref, event }, context()))).toMatchObject({
      confirmed: true,
      tags: { DataClassification: "PHI" },
    });
  });

  it("clears a bucket logging again, passes over non-PHI buckets and the log bucket, and reports a gone bucket", async () => {
    const ref = await phiBucketWithoutLogging("live-back-on");
    await putLogging(s3, "live-back-on", { TargetBucket: LOG_SINK, TargetPrefix: "x/" });
    expect(onlyCleared(await control.detect({ resource: ref }, context()))).toBe(
      `bucket live-back-on is logging to s3://${LOG_SINK}/x/, which meets the policy`,
    );
    const plain = await createTestBucket(s3, "live-not-phi");
    expect(await control.detect({ resource: plain }, context())).toEqual([]);
    const sink = await createTestBucket(s3, "phi-sink", PHI_TAGS);
    expect(await control.detect({ resource: sink }, context({ targetBucket: "phi-sink" }))).toEqual([]);
    const gone = await phiBucketWithoutLogging("live-gone");
    await s3.send(new DeleteBucketCommand({ Bucket: "live-gone" }));
    expect(onlyCleared(await control.detect({ resource: gone }, context()))).toBe("bucket live-gone no longer exists");
  });
});

describe("s3-bucket-access-logging: plan, apply, verify, rollback", () => {
  it("plans the configured target with the bucket's own prefix, purely", async () => {
    const ref = await phiBucketWithoutLogging("plan-logs");
    const finding = onlyViolation(await control.detect({ resource: ref }, context({ ...WITH_SINK, targetPrefix: "logs/{bucket}/" })));
    const options = control.options.parse({ ...WITH_SINK, targetPrefix: "logs/{bucket}/" });
    const plan = control.plan(finding, options);
    expect(control.plan(finding, options)).toEqual(plan);
    expect(JSON.parse(canonicalJson(plan))).toEqual(plan);
    expect(plan).toMatchObject({
      summary: `Turn server access logging on for bucket plan-logs, logging to s3://${LOG_SINK}/logs/plan-logs/.`,
      reversible: true,
      params: { required: { targetBucket: LOG_SINK, targetPrefix: "logs/plan-logs/" } },
    });
    expect(plan.notifyOnly).toBeUndefined();
  });

  it("without a configured target, plans a notification that says how to configure one, and never applies it", async () => {
    const ref = await phiBucketWithoutLogging("plan-no-target");
    const ctx = context({});
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    expect(plan).toMatchObject({ notifyOnly: true, reversible: false });
    expect(plan.summary).toMatch(/no target bucket is configured/);
    expect(plan.steps[0]).toMatch(/controls\.s3-bucket-access-logging\.options\.targetBucket/);
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "NotifyOnlyPlanError" });
    await expect(control.rollback(plan, {}, ctx)).rejects.toMatchObject({ name: "NotifyOnlyPlanError" });
    expect(await loggingOf(s3, "plan-no-target")).toBeNull();
  });

  it("turns logging on, verifies, and rolls back to off", async () => {
    const ctx = context();
    const ref = await phiBucketWithoutLogging("apply-off");
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ref.arn, value: null });
    expect(await loggingOf(s3, "apply-off")).toEqual({ TargetBucket: LOG_SINK, TargetPrefix: "s3-access-logs/apply-off/" });
    expect((await control.verify(plan, ctx)).ok).toBe(true);
    await control.rollback(plan, applied.before, ctx);
    expect(await loggingOf(s3, "apply-off")).toBeNull();
  });

  it("rolls back to a previous target exactly, and surfaces S3's refusal of a target that rejects log delivery", async () => {
    const ctx = context();
    const ref = await phiBucketWithoutLogging("apply-previous");
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    await control.rollback(plan, { arn: ref.arn, value: { targetBucket: LOG_SINK, targetPrefix: "earlier/" } }, ctx);
    expect(await loggingOf(s3, "apply-previous")).toEqual({ TargetBucket: LOG_SINK, TargetPrefix: "earlier/" });

    await createTestBucket(s3, "closed-sink");
    const closed = context({ targetBucket: "closed-sink" });
    const other = await phiBucketWithoutLogging("apply-closed");
    const closedPlan = control.plan(onlyViolation(await control.detect({ resource: other }, closed)), closed.options);
    await expect(control.apply(closedPlan, closed)).rejects.toMatchObject({ name: "InvalidTargetBucketForLogging" });
    expect(await loggingOf(s3, "apply-closed")).toBeNull();
  });

  it("refuses a plan whose target was removed and a captured state for another bucket", async () => {
    const ctx = context();
    const ref = await phiBucketWithoutLogging("apply-tampered");
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    await expect(control.apply({ ...plan, params: { ...plan.params, required: null } }, ctx)).rejects.toThrow(/field required/);
    await expect(control.rollback(plan, { arn: "arn:aws:s3:::other", value: null }, ctx)).rejects.toThrow(/field arn/);
  });
});

describe("s3-bucket-access-logging: sweep", () => {
  it("finds PHI buckets without logging and nothing else", async () => {
    await phiBucketWithoutLogging("sweep-phi-off");
    const ctx = context();
    const found = await sweepViolations(control, ctx);
    expect(found).toContain("sweep-phi-off");
    expect(found).not.toContain("live-not-phi");
    expect(found).not.toContain("live-back-on");
  });
});

describe("s3-bucket-access-logging: end-to-end scenario", () => {
  it("arranges a real violation the control finds from the record, and the fix satisfies assertFixed", async () => {
    await checkScenarioRoundTrip(moto, control, scenario, "PutBucketLogging", () => context(scenario.options));
  });
});

describe.runIf(corpusAvailable())("s3-bucket-access-logging: real corpus records", () => {
  it("confirms live the real records that turn logging off on a PHI bucket, and clears those that turn it on", async () => {
    // The records name critical-data-bucket; here it is a PHI bucket whose live state follows each record in turn.
    await phiBucketWithoutLogging("critical-data-bucket");
    await ensureLogSink(s3, "logging-bucket");
    const trigger = triggerOf(control, "PutBucketLogging");
    const outcomes: string[] = [];
    for (const event of corpusEventsFor(trigger)) {
      const [resource, ...others] = trigger.resources(event);
      expect(others).toEqual([]);
      if (!resource) continue;
      expect(resource.id).toBe("critical-data-bucket");
      if (!objectAt(event.request, "BucketLoggingStatus")) {
        outcomes.push("no status");
        continue;
      }
      const enabled = objectAt(event.request, "BucketLoggingStatus", "LoggingEnabled");
      const targetBucket = stringOf(enabled?.TargetBucket);
      const target = targetBucket ? { TargetBucket: targetBucket, TargetPrefix: stringOf(enabled?.TargetPrefix) ?? "" } : null;
      await putLogging(s3, resource.id, target);
      const [verdict] = await control.detect({ resource, event }, context());
      outcomes.push(`${target ? "on" : "off"}:${verdict?.kind ?? "none"}`);
    }
    expect(outcomes.sort()).toEqual(["no status", "off:violation", "off:violation", "on:no-longer-applies", "on:no-longer-applies"]);
  });
});
