import {
  DeleteConfigurationRecorderCommand,
  DeleteDeliveryChannelCommand,
  DescribeConfigurationRecordersCommand,
  StopConfigurationRecorderCommand,
} from "@aws-sdk/client-config-service";
import type { ChangeEvent, Finding, JsonObject } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control } from "../../../remediations/config-recorder-running";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusOutcomes, triggerNamed } from "../../support/control-checks";
import { corpusAvailable } from "../../support/corpus";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { CONFIG_ROLE, RECORDER, configRef, recorderIn, recordingRegion, stoppedRegion } from "./scenarios/config-recorder-running";

const moto = useMoto();
const OTHER_REGION = "eu-west-1";
const RECREATE = { recreate: { roleArn: CONFIG_ROLE } };
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = () => offlineContext(moto, control);
const config = () => moto.clients.config(MOTO_REGION);

function configEvent(eventName: string, request: JsonObject | null, region = MOTO_REGION): ChangeEvent {
  return changeEventOf(cloudTrailRecord({ eventSource: "config.amazonaws.com", eventName, awsRegion: region, requestParameters: request }));
}

const triggerFor = (name: string) => triggerNamed(control, name);

async function liveFinding(options: Record<string, unknown> = {}): Promise<Finding> {
  return onlyViolation(await control.detect({ resource: configRef() }, context(options)));
}

async function deletedRecorder(): Promise<void> {
  await stoppedRegion(moto);
  await (await config()).send(new DeleteConfigurationRecorderCommand({ ConfigurationRecorderName: RECORDER }));
}

describe("config-recorder-running: identity and options", () => {
  it("is registered, proposes by default, and declares exact IAM actions", () => {
    expect(controlById("config-recorder-running")).toBe(control);
    expect(control).toMatchObject({ category: "risk-analysis", severity: "high", defaultMode: "approve" });
    expect(control.hipaa.sections).toEqual(["164.308(a)(1)(ii)(A)", "164.308(a)(8)"]);
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "config.amazonaws.com StopConfigurationRecorder",
      "config.amazonaws.com DeleteConfigurationRecorder",
    ]);
    expect(control.permissions.apply).toEqual([
      "config:DescribeConfigurationRecorders",
      "config:DescribeConfigurationRecorderStatus",
      "config:StartConfigurationRecorder",
      "config:PutConfigurationRecorder",
      "iam:PassRole",
    ]);
    expect(control.permissions.rollback).toContain("config:DeleteConfigurationRecorder");
  });

  it("recreates nothing by default and rejects bad recreate settings, naming the field", () => {
    expect(control.options.parse({})).toEqual({});
    expect(control.options.parse(RECREATE)).toEqual({
      recreate: {
        name: "default",
        roleArn: CONFIG_ROLE,
        recordingGroup: { allSupported: true, includeGlobalResourceTypes: true, resourceTypes: [] },
      },
    });
    expect(control.options.safeParse({ recreate: { roleArn: "config-role" } }).error?.issues[0]?.path).toEqual(["recreate", "roleArn"]);
    const noTypes = control.options.safeParse({ recreate: { roleArn: CONFIG_ROLE, recordingGroup: { allSupported: false } } });
    expect(noTypes.error?.issues[0]?.path).toEqual(["recreate", "recordingGroup", "resourceTypes"]);
    const badType = control.options.safeParse({
      recreate: { roleArn: CONFIG_ROLE, recordingGroup: { allSupported: false, resourceTypes: ["AWS::EC2::Nope"] } },
    });
    expect(badType.error?.issues[0]?.path).toEqual(["recreate", "recordingGroup", "resourceTypes", 0]);
  });
});

describe("config-recorder-running: trigger extraction and offline detection", () => {
  it("names the region's recording, whatever the request holds", () => {
    expect(triggerFor("StopConfigurationRecorder").resources(configEvent("StopConfigurationRecorder", null, OTHER_REGION))).toEqual([
      configRef(OTHER_REGION),
    ]);
  });

  it("flags a stopped and a deleted recorder from the event alone, naming it", async () => {
    const detect = (name: string, request: JsonObject | null) =>
      control.detect({ resource: configRef(), event: configEvent(name, request) }, offline());
    expect(onlyViolation(await detect("StopConfigurationRecorder", { configurationRecorderName: "default" }))).toMatchObject({
      confirmed: false,
      summary: "AWS Config recording in us-east-1 is off (recorder default stopped)",
    });
    expect(onlyViolation(await detect("DeleteConfigurationRecorder", { configurationRecorderName: "default" })).summary).toBe(
      "AWS Config recording in us-east-1 is off (recorder default deleted)",
    );
    expect(onlyViolation(await detect("StopConfigurationRecorder", null)).summary).toBe(
      "AWS Config recording in us-east-1 is off (recorder stopped)",
    );
  });
});

describe("config-recorder-running: live detection, plan, apply, verify, rollback on moto", () => {
  it("confirms a stopped recorder, and a late event for a restarted one no longer applies", async () => {
    await stoppedRegion(moto);
    const event = configEvent("StopConfigurationRecorder", { configurationRecorderName: RECORDER });
    expect(onlyViolation(await control.detect({ resource: configRef(), event }, context())).confirmed).toBe(true);
    await recordingRegion(moto);
    expect(onlyCleared(await control.detect({ resource: configRef(), event }, context()))).toBe(
      "AWS Config recording in us-east-1 is on (recorder default recording), which meets the policy",
    );
  });

  it("starts a stopped recorder, verifies, and stops it on rollback", async () => {
    await stoppedRegion(moto);
    const ctx = context();
    const plan = control.plan(await liveFinding(), ctx.options);
    expect(plan).toMatchObject({ summary: "Start the configuration recorder in us-east-1 again.", reversible: true });
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({
      arn: configRef().arn,
      value: { recorderName: RECORDER, status: "stopped", roleArn: null, recordingGroup: null },
    });
    expect(await recorderIn(moto)).toMatchObject({ status: "recording" });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect(await recorderIn(moto)).toMatchObject({ status: "stopped" });
  });

  it("only reports a deleted recorder when the policy gives no settings to recreate it", async () => {
    await deletedRecorder();
    const finding = await liveFinding();
    expect(finding.summary).toBe("AWS Config recording in us-east-1 is off (no recorder)");
    const plan = control.plan(finding, context().options);
    expect(plan).toMatchObject({ notifyOnly: true, reversible: false });
    expect(plan.steps[0]).toContain("controls.config-recorder-running.options.recreate");
    await expect(control.apply(plan, context())).rejects.toThrow(/cannot apply/);
  });

  it("recreates a deleted recorder from the policy's settings, starts it, and removes it on rollback", async () => {
    await deletedRecorder();
    const ctx = context(RECREATE);
    const plan = control.plan(await liveFinding(RECREATE), ctx.options);
    expect(plan.summary).toBe("Recreate configuration recorder default in us-east-1 and start it.");
    expect(plan.steps.join(" ")).toContain(`with role ${CONFIG_ROLE}, recording all supported resource types`);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toMatchObject({ value: { status: "missing" } });
    const { ConfigurationRecorders: recorders = [] } = await (await config()).send(new DescribeConfigurationRecordersCommand({}));
    expect(recorders).toMatchObject([
      { name: RECORDER, roleARN: CONFIG_ROLE, recordingGroup: { allSupported: true, includeGlobalResourceTypes: true } },
    ]);
    expect(await recorderIn(moto)).toMatchObject({ status: "recording" });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect(await recorderIn(moto)).toMatchObject({ status: "missing" });
  });

  it("does not recreate a recorder deleted after a plan to restart it", async () => {
    await stoppedRegion(moto);
    const ctx = context(RECREATE);
    const plan = control.plan(await liveFinding(RECREATE), ctx.options);
    await (await config()).send(new DeleteConfigurationRecorderCommand({ ConfigurationRecorderName: RECORDER }));
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "ResourceGoneError" });
    expect(await recorderIn(moto)).toMatchObject({ status: "missing" });
  });

  it("says what to create when the region has no delivery channel", async () => {
    await stoppedRegion(moto, OTHER_REGION);
    const client = await moto.clients.config(OTHER_REGION);
    await client.send(new DeleteDeliveryChannelCommand({ DeliveryChannelName: "default" }));
    const ctx = { ...context(), regions: [OTHER_REGION] };
    const finding = onlyViolation(await control.detect({ resource: configRef(OTHER_REGION) }, ctx));
    await expect(control.apply(control.plan(finding, ctx.options), ctx)).rejects.toMatchObject({
      name: "DeliveryChannelMissingError",
      message: expect.stringMatching(/no delivery channel; create one \(PutDeliveryChannel\)/),
    });
    await client.send(new StopConfigurationRecorderCommand({ ConfigurationRecorderName: RECORDER }));
  });

  it("refuses a captured state for another region, naming the field", async () => {
    await stoppedRegion(moto);
    const ctx = context();
    const plan = control.plan(await liveFinding(), ctx.options);
    await expect(
      control.rollback(
        plan,
        { arn: configRef(OTHER_REGION).arn, value: { recorderName: RECORDER, status: "stopped", roleArn: null, recordingGroup: null } },
        ctx,
      ),
    ).rejects.toThrow(/field arn/);
    await expect(
      control.rollback(
        plan,
        { arn: configRef().arn, value: { recorderName: RECORDER, status: "paused", roleArn: null, recordingGroup: null } },
        ctx,
      ),
    ).rejects.toThrow(/field value.status/);
  });
});

describe("config-recorder-running: sweep", () => {
  it("yields one setting per sweep region and finds the regions where recording is off", async () => {
    await recordingRegion(moto);
    await stoppedRegion(moto, OTHER_REGION);
    const ctx = { ...context(), regions: [MOTO_REGION, OTHER_REGION] };
    const refs = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual([configRef(MOTO_REGION), configRef(OTHER_REGION)]);
    const verdicts = (await Promise.all(refs.map((resource) => control.detect({ resource }, ctx)))).flat();
    expect(verdicts.map((verdict) => verdict.kind)).toEqual(["no-longer-applies", "violation"]);
  });
});

describe.runIf(corpusAvailable())("config-recorder-running: real corpus records", () => {
  it("flags every successful StopConfigurationRecorder in its own region, even with a redacted name", async () => {
    const outcomes = await corpusOutcomes(control, "StopConfigurationRecorder", offline(), (resource, finding) =>
      finding ? `${String(finding.evidence.shortfall)} (${resource.type})` : "compliant",
    );
    expect(new Set(outcomes)).toEqual(new Set(["is off (recorder stopped) (AWS::Config::ConfigurationRecorder)"]));
  });
});
