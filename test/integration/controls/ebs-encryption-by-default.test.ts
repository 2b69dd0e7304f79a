import { DisableEbsEncryptionByDefaultCommand, EnableEbsEncryptionByDefaultCommand } from "@aws-sdk/client-ec2";
import type { Finding } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control } from "../../../remediations/ebs-encryption-by-default";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusEventsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { ebsDefaultEncryption, ebsSettingRef } from "./scenarios/ebs-encryption-by-default";

const moto = useMoto();
const OTHER_REGION = "eu-west-1";
const [trigger] = control.triggers;
if (!trigger) throw new Error("ebs-encryption-by-default declares no trigger");

function disableEvent(region = MOTO_REGION, request: Record<string, unknown> | null = null) {
  return changeEventOf(
    cloudTrailRecord({
      eventSource: "ec2.amazonaws.com",
      eventName: "DisableEbsEncryptionByDefault",
      awsRegion: region,
      requestParameters: request,
    }),
  );
}

async function setDefault(enabled: boolean, region = MOTO_REGION): Promise<void> {
  const ec2 = await moto.clients.ec2(region);
  await ec2.send(enabled ? new EnableEbsEncryptionByDefaultCommand({}) : new DisableEbsEncryptionByDefaultCommand({}));
}

describe("ebs-encryption-by-default: identity and trigger", () => {
  it("is registered, listens to DisableEbsEncryptionByDefault, and declares exact IAM actions", () => {
    expect(controlById("ebs-encryption-by-default")).toBe(control);
    expect(control.category).toBe("encryption-at-rest");
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual(["ec2.amazonaws.com DisableEbsEncryptionByDefault"]);
    expect(control.permissions).toEqual({
      detect: ["ec2:GetEbsEncryptionByDefault"],
      apply: ["ec2:GetEbsEncryptionByDefault", "ec2:EnableEbsEncryptionByDefault"],
      rollback: ["ec2:DisableEbsEncryptionByDefault"],
    });
    expect(control.options.safeParse({ kmsKeyId: "x" }).success).toBe(false);
  });

  it("names the regional setting of the event's account and region, whatever the request holds", () => {
    expect(trigger.resources(disableEvent(OTHER_REGION))).toEqual([ebsSettingRef(OTHER_REGION)]);
    expect(trigger.resources(disableEvent(MOTO_REGION, { DisableEbsEncryptionByDefaultRequest: "" }))).toEqual([ebsSettingRef()]);
  });
});

// Each test sets the regional flag it needs; resetting moto between them would rebuild every region's default VPC.
describe("ebs-encryption-by-default: detection", () => {
  it("offline, the call alone is an unconfirmed finding", async () => {
    const event = disableEvent();
    const finding = onlyViolation(await control.detect({ resource: ebsSettingRef(), event }, offlineContext(moto, control)));
    expect(finding).toMatchObject({
      control: "ebs-encryption-by-default",
      confirmed: false,
      summary: "EBS encryption by default in us-east-1 is off",
      evidence: { current: false, required: true, shortfall: "is off" },
      event: { id: event.id, name: "DisableEbsEncryptionByDefault" },
    });
  });

  it("live, confirms the setting is off", async () => {
    await setDefault(false);
    const finding = onlyViolation(await control.detect({ resource: ebsSettingRef(), event: disableEvent() }, liveContext(moto, control)));
    expect(finding.confirmed).toBe(true);
  });

  it("live, a late event for a region where it is back on no longer applies", async () => {
    await setDefault(true);
    const reason = onlyCleared(await control.detect({ resource: ebsSettingRef(), event: disableEvent() }, liveContext(moto, control)));
    expect(reason).toBe("EBS encryption by default in us-east-1 is on, which meets the policy");
  });
});

describe("ebs-encryption-by-default: plan, apply, verify, rollback on moto", () => {
  async function finding(): Promise<Finding> {
    await setDefault(false);
    return onlyViolation(await control.detect({ resource: ebsSettingRef() }, liveContext(moto, control)));
  }

  it("plans a reversible change in plain words", async () => {
    const plan = control.plan(await finding(), control.options.parse({}));
    expect(plan).toMatchObject({
      summary: "Turn EBS encryption by default back on in us-east-1.",
      reversible: true,
      params: { required: true },
    });
    expect(plan.steps.join(" ")).toMatch(/set it to on \(now off\)/);
  });

  it("turns it on, captures that it was off, verifies, and rolls back to off", async () => {
    const ctx = liveContext(moto, control);
    const plan = control.plan(await finding(), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ebsSettingRef().arn, value: false });
    expect(await ebsDefaultEncryption(moto)).toBe(true);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true, state: { value: true } });
    await control.rollback(plan, applied.before, ctx);
    expect(await ebsDefaultEncryption(moto)).toBe(false);
  });

  it("leaves a region that was turned back on meanwhile alone, and verify fails if it is off again", async () => {
    const ctx = liveContext(moto, control);
    const plan = control.plan(await finding(), ctx.options);
    await setDefault(true);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual(applied.after);
    await setDefault(false);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: "EBS encryption by default in us-east-1 is off" });
  });

  it("refuses a captured state for another setting, naming the field", async () => {
    const ctx = liveContext(moto, control);
    const plan = control.plan(await finding(), ctx.options);
    await expect(control.rollback(plan, { arn: ebsSettingRef(OTHER_REGION).arn, value: false }, ctx)).rejects.toThrow(/field arn/);
    await expect(control.rollback(plan, { arn: ebsSettingRef().arn, value: "off" }, ctx)).rejects.toThrow(/field value/);
  });
});

describe("ebs-encryption-by-default: sweep", () => {
  it("yields one setting per sweep region and finds the regions where it is off", async () => {
    await setDefault(true, MOTO_REGION);
    await setDefault(false, OTHER_REGION);
    const ctx = { ...liveContext(moto, control), regions: [MOTO_REGION, OTHER_REGION] };
    const refs = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual([ebsSettingRef(MOTO_REGION, MOTO_ACCOUNT), ebsSettingRef(OTHER_REGION, MOTO_ACCOUNT)]);
    const verdicts = await Promise.all(refs.map((resource) => control.detect({ resource }, ctx)));
    expect(verdicts.flat().map((v) => v.kind)).toEqual(["no-longer-applies", "violation"]);
  });
});

describe.runIf(corpusAvailable())("ebs-encryption-by-default: real corpus records", () => {
  it("flags every successful DisableEbsEncryptionByDefault offline, in its own region", async () => {
    const events = corpusEventsFor(trigger);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      const [resource] = trigger.resources(event);
      if (!resource) throw new Error(`no resource for ${event.origin}`);
      const finding = onlyViolation(await control.detect({ resource, event }, offlineContext(moto, control)));
      expect(finding.resource.region).toBe(event.region);
      expect(finding.confirmed).toBe(false);
    }
  });
});
