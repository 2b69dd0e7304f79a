import { CreateDetectorCommand, DeleteDetectorCommand, GetDetectorCommand, UpdateDetectorCommand } from "@aws-sdk/client-guardduty";
import type { ChangeEvent, Finding, JsonObject } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control } from "../../../remediations/guardduty-enabled";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation, TEST_ENGINE_TAG } from "../../support/control-harness";
import { corpusOutcomes, triggerNamed } from "../../support/control-checks";
import { corpusAvailable } from "../../support/corpus";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { clearDetectors, detectorsIn, disabledDetector, guardDutyRef } from "./scenarios/guardduty-enabled";

const moto = useMoto();
const OTHER_REGION = "eu-west-1";
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = () => offlineContext(moto, control);

function guardDutyEvent(eventName: string, request: JsonObject | null, region = MOTO_REGION): ChangeEvent {
  return changeEventOf(
    cloudTrailRecord({ eventSource: "guardduty.amazonaws.com", eventName, awsRegion: region, requestParameters: request }),
  );
}

const triggerFor = (name: string) => triggerNamed(control, name);

async function liveFinding(region = MOTO_REGION): Promise<Finding> {
  return onlyViolation(await control.detect({ resource: guardDutyRef(region) }, { ...context(), regions: [region] }));
}

describe("guardduty-enabled: identity and options", () => {
  it("is registered, proposes by default, and declares exact IAM actions", () => {
    expect(controlById("guardduty-enabled")).toBe(control);
    expect(control).toMatchObject({ category: "risk-analysis", severity: "high", defaultMode: "approve" });
    expect(control.hipaa.sections).toEqual(["164.308(a)(1)(ii)(A)", "164.308(a)(8)"]);
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "guardduty.amazonaws.com DeleteDetector",
      "guardduty.amazonaws.com UpdateDetector",
    ]);
    expect(control.permissions).toEqual({
      detect: ["guardduty:ListDetectors", "guardduty:GetDetector"],
      apply: [
        "guardduty:ListDetectors",
        "guardduty:GetDetector",
        "guardduty:UpdateDetector",
        "guardduty:CreateDetector",
        "guardduty:TagResource",
      ],
      rollback: ["guardduty:ListDetectors", "guardduty:GetDetector", "guardduty:UpdateDetector", "guardduty:DeleteDetector"],
    });
  });

  it("publishes every six hours by default and rejects a bad option, naming the field", () => {
    expect(control.options.parse({})).toEqual({ findingPublishingFrequency: "SIX_HOURS" });
    expect(control.options.safeParse({ findingPublishingFrequency: "HOURLY" }).error?.issues[0]?.path).toEqual([
      "findingPublishingFrequency",
    ]);
    expect(control.options.safeParse({ enable: true }).error?.issues[0]?.message).toMatch(/enable/);
  });
});

describe("guardduty-enabled: trigger extraction", () => {
  it("names the region's GuardDuty, whatever the request holds", () => {
    expect(triggerFor("DeleteDetector").resources(guardDutyEvent("DeleteDetector", { detectorId: "abc" }, OTHER_REGION))).toEqual([
      guardDutyRef(OTHER_REGION),
    ]);
    expect(triggerFor("UpdateDetector").resources(guardDutyEvent("UpdateDetector", null))).toEqual([guardDutyRef()]);
  });
});

describe("guardduty-enabled: offline detection from the event alone", () => {
  const detect = (name: string, request: JsonObject | null) =>
    control.detect({ resource: guardDutyRef(), event: guardDutyEvent(name, request) }, offline());

  it("flags a deleted detector and a disabled one, naming the detector", async () => {
    const deleted = onlyViolation(await detect("DeleteDetector", { detectorId: "12abc34d567e8fa901bc2d34e56789f0" }));
    expect(deleted).toMatchObject({
      confirmed: false,
      summary: "GuardDuty in us-east-1 is off (detector 12abc34d567e8fa901bc2d34e56789f0 deleted)",
      evidence: { current: { status: "missing" }, required: { detectorId: null, status: "enabled" } },
    });
    const disabled = onlyViolation(await detect("UpdateDetector", { detectorId: "12abc", enable: false }));
    expect(disabled.summary).toBe("GuardDuty in us-east-1 is off (detector 12abc disabled)");
    expect(onlyViolation(await detect("DeleteDetector", null)).summary).toBe("GuardDuty in us-east-1 is off (no detector)");
  });

  it("stays silent for an update that enables the detector or only changes its frequency", async () => {
    expect(await detect("UpdateDetector", { detectorId: "12abc", enable: true })).toEqual([]);
    expect(await detect("UpdateDetector", { detectorId: "12abc", findingPublishingFrequency: "ONE_HOUR" })).toEqual([]);
    expect(await detect("UpdateDetector", null)).toEqual([]);
  });
});

describe("guardduty-enabled: live detection, plan, apply, verify, rollback on moto", () => {
  it("confirms a disabled detector, and a late event for a re-enabled one no longer applies", async () => {
    const id = await disabledDetector(moto);
    const event = guardDutyEvent("UpdateDetector", { detectorId: id, enable: false });
    expect(onlyViolation(await control.detect({ resource: guardDutyRef(), event }, context()))).toMatchObject({
      confirmed: true,
      evidence: { current: { detectorId: id, status: "disabled" } },
    });
    await (await moto.clients.guardDuty(MOTO_REGION)).send(new UpdateDetectorCommand({ DetectorId: id, Enable: true }));
    expect(onlyCleared(await control.detect({ resource: guardDutyRef(), event }, context()))).toBe(
      `GuardDuty in us-east-1 is on (detector ${id}), which meets the policy`,
    );
  });

  it("counts a region as on while any of its detectors is enabled", async () => {
    await disabledDetector(moto);
    await (await moto.clients.guardDuty(MOTO_REGION)).send(new CreateDetectorCommand({ Enable: true }));
    expect(onlyCleared(await control.detect({ resource: guardDutyRef() }, context()))).toMatch(/is on/);
  });

  it("enables the disabled detector again, verifies, and disables it on rollback", async () => {
    const id = await disabledDetector(moto);
    const ctx = context();
    const plan = control.plan(await liveFinding(), ctx.options);
    expect(plan).toMatchObject({ summary: `Enable GuardDuty detector ${id} again in us-east-1.`, reversible: true });
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: guardDutyRef().arn, value: { detectorId: id, status: "disabled" } });
    expect(await detectorsIn(moto)).toEqual([{ id, enabled: true, tags: {} }]);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect(await detectorsIn(moto)).toEqual([{ id, enabled: false, tags: {} }]);
  });

  it("creates a tagged detector with the policy's frequency where none is left, and deletes only that one on rollback", async () => {
    await clearDetectors(moto);
    const ctx = context({ findingPublishingFrequency: "FIFTEEN_MINUTES" });
    const finding = await liveFinding();
    expect(finding.summary).toBe("GuardDuty in us-east-1 is off (no detector)");
    const plan = control.plan(finding, ctx.options);
    expect(plan.summary).toBe("Create a GuardDuty detector in us-east-1, enabled.");
    expect(plan.steps.join(" ")).toMatch(/publishing findings every FIFTEEN_MINUTES, tagged as created by the engine; rollback deletes it/);
    const applied = await control.apply(plan, ctx);
    const [created, ...others] = await detectorsIn(moto);
    expect(others).toEqual([]);
    expect(created).toMatchObject({ enabled: true, tags: { [TEST_ENGINE_TAG]: "created" } });
    const guardDuty = await moto.clients.guardDuty(MOTO_REGION);
    expect((await guardDuty.send(new GetDetectorCommand({ DetectorId: created?.id }))).FindingPublishingFrequency).toBe("FIFTEEN_MINUTES");
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    // Someone else's detector, created meanwhile, survives the rollback.
    const { DetectorId: theirs } = await guardDuty.send(new CreateDetectorCommand({ Enable: false }));
    await control.rollback(plan, applied.before, ctx);
    expect((await detectorsIn(moto)).map((detector) => detector.id)).toEqual([theirs]);
  });

  it("verify fails when the detector is disabled again, and rollback refuses another region's state", async () => {
    const id = await disabledDetector(moto);
    const ctx = context();
    const plan = control.plan(await liveFinding(), ctx.options);
    await control.apply(plan, ctx);
    await (await moto.clients.guardDuty(MOTO_REGION)).send(new UpdateDetectorCommand({ DetectorId: id, Enable: false }));
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: `GuardDuty in us-east-1 is off (detector ${id} disabled)` });
    await expect(
      control.rollback(plan, { arn: guardDutyRef(OTHER_REGION).arn, value: { detectorId: id, status: "disabled" } }, ctx),
    ).rejects.toThrow(/field arn/);
    await expect(control.rollback(plan, { arn: guardDutyRef().arn, value: { detectorId: id, status: "paused" } }, ctx)).rejects.toThrow(
      /field value.status/,
    );
  });

  it("leaves a region re-enabled before apply as it is", async () => {
    const id = await disabledDetector(moto);
    const ctx = context();
    const plan = control.plan(await liveFinding(), ctx.options);
    await (await moto.clients.guardDuty(MOTO_REGION)).send(new DeleteDetectorCommand({ DetectorId: id }));
    const { DetectorId: replacement } = await (await moto.clients.guardDuty(MOTO_REGION)).send(new CreateDetectorCommand({ Enable: true }));
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual(applied.after);
    expect(await detectorsIn(moto)).toEqual([{ id: replacement, enabled: true, tags: {} }]);
  });
});

describe("guardduty-enabled: sweep", () => {
  it("yields one setting per sweep region and finds the regions where GuardDuty is off", async () => {
    await clearDetectors(moto, OTHER_REGION);
    await (await moto.clients.guardDuty(MOTO_REGION)).send(new CreateDetectorCommand({ Enable: true }));
    const ctx = { ...context(), regions: [MOTO_REGION, OTHER_REGION] };
    const refs = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual([guardDutyRef(MOTO_REGION), guardDutyRef(OTHER_REGION)]);
    const verdicts = (await Promise.all(refs.map((resource) => control.detect({ resource }, ctx)))).flat();
    expect(verdicts.map((verdict) => verdict.kind)).toEqual(["no-longer-applies", "violation"]);
  });
});

describe.runIf(corpusAvailable())("guardduty-enabled: real corpus records", () => {
  /** What offline detection says of each record, without the region (the records' own). */
  const outcomes = (name: string) =>
    corpusOutcomes(control, name, offline(), (resource, finding) =>
      finding ? finding.summary.replace(`GuardDuty in ${resource.region} `, "") : "compliant",
    );

  it("flags every DeleteDetector, even with an empty detector id", async () => {
    expect(new Set(await outcomes("DeleteDetector"))).toEqual(new Set(["is off (no detector)"]));
  });

  it("flags UpdateDetector with enable false and not with enable true", async () => {
    expect(await outcomes("UpdateDetector")).toEqual(["compliant", "is off (detector disabled)"]);
  });
});
