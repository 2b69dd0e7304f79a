import {
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
} from "@aws-sdk/client-kms";
import type { ChangeEvent, Finding, JsonObject, ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { control, windowFor } from "../../../remediations/kms-key-protection";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusOutcomes, triggerNamed } from "../../support/control-checks";
import { corpusAvailable } from "../../support/corpus";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { keyRefOf, keyState, makeKey } from "./scenarios/kms-key-protection";

const moto = useMoto();
const DAY_MS = 86_400_000;
// KMS stamps deletion dates with the real clock, so the tests that reschedule one use it too.
const context = (options: Record<string, unknown> = {}) => ({ ...liveContext(moto, control, options), now: () => new Date() });
const offline = (options: Record<string, unknown> = {}) => offlineContext(moto, control, options);
const kms = () => moto.clients.kms(MOTO_REGION);

function kmsEvent(eventName: string, request: JsonObject | null, response: JsonObject | null = null): ChangeEvent {
  return changeEventOf(
    cloudTrailRecord({ eventSource: "kms.amazonaws.com", eventName, requestParameters: request, responseElements: response }),
  );
}

const triggerFor = (name: string) => triggerNamed(control, name);

async function liveFinding(key: ResourceRef, options: Record<string, unknown> = {}): Promise<Finding> {
  return onlyViolation(await control.detect({ resource: key }, context(options)));
}

async function rotation(key: ResourceRef): Promise<boolean | undefined> {
  return (await (await kms()).send(new GetKeyRotationStatusCommand({ KeyId: key.id }))).KeyRotationEnabled;
}

async function deletionDate(key: ResourceRef): Promise<Date | undefined> {
  return (await (await kms()).send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata?.DeletionDate;
}

describe("kms-key-protection: identity and options", () => {
  it("is registered, critical, and declares exact IAM actions", () => {
    expect(controlById("kms-key-protection")).toBe(control);
    expect(control).toMatchObject({ category: "encryption-at-rest", severity: "critical" });
    expect(control.defaultMode).toBeUndefined();
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "kms.amazonaws.com ScheduleKeyDeletion",
      "kms.amazonaws.com DisableKey",
      "kms.amazonaws.com DisableKeyRotation",
    ]);
    expect(control.permissions).toEqual({
      detect: ["kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
      apply: ["kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:CancelKeyDeletion", "kms:EnableKey", "kms:EnableKeyRotation"],
      rollback: ["kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation"],
    });
  });

  it("requires rotation and retires nothing by default, and rejects a bad option, naming the field", () => {
    expect(control.options.parse({})).toEqual({ requireRotation: true, retiredKeys: [] });
    const alias = control.options.safeParse({ retiredKeys: ["alias/old"] });
    expect(alias.error?.issues[0]).toMatchObject({ path: ["retiredKeys", 0], message: expect.stringMatching(/key ids or key ARNs/) });
    expect(control.options.safeParse({ requireRotation: "yes" }).error?.issues[0]?.path).toEqual(["requireRotation"]);
  });

  it("reschedules a deletion for the days left to its date, within AWS's 7 to 30", () => {
    const now = new Date("2025-03-01T12:00:00Z");
    const at = (days: number) => new Date(now.getTime() + days * DAY_MS).toISOString();
    expect(windowFor(at(7), new Date(now.getTime() + 60_000))).toBe(7);
    expect(windowFor(at(30), now)).toBe(30);
    expect(windowFor(at(2), now)).toBe(7);
    expect(windowFor(at(45), now)).toBe(30);
    expect(windowFor(null, now)).toBe(30);
  });
});

describe("kms-key-protection: trigger extraction", () => {
  it("prefers the response's key ARN, else reads the request's key id or ARN, and nothing from null", () => {
    const scheduled = kmsEvent(
      "ScheduleKeyDeletion",
      { keyId: "1234abcd-12ab-34cd-56ef-1234567890ab", pendingWindowInDays: 7 },
      { keyId: "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", deletionDate: "Mar 8, 2025 12:00:00 AM" },
    );
    expect(triggerFor("ScheduleKeyDeletion").resources(scheduled)).toEqual([
      keyRefOf("1234abcd-12ab-34cd-56ef-1234567890ab", "us-west-2", "111122223333"),
    ]);
    expect(triggerFor("DisableKey").resources(kmsEvent("DisableKey", { keyId: "1234abcd-12ab-34cd-56ef-1234567890ab" }))).toEqual([
      keyRefOf("1234abcd-12ab-34cd-56ef-1234567890ab"),
    ]);
    expect(triggerFor("DisableKeyRotation").resources(kmsEvent("DisableKeyRotation", null))).toEqual([]);
    expect(triggerFor("DisableKey").resources(kmsEvent("DisableKey", { keyId: "..." }))).toEqual([]);
  });
});

describe("kms-key-protection: offline detection from the event alone", () => {
  const key = keyRefOf("1234abcd-12ab-34cd-56ef-1234567890ab");
  const detect = (name: string, request: JsonObject, response: JsonObject | null = null, options: Record<string, unknown> = {}) =>
    control.detect({ resource: key, event: kmsEvent(name, { keyId: key.id, ...request }, response) }, offline(options));

  it("flags a scheduled deletion with its date, a disabled key and rotation turned off", async () => {
    const scheduled = onlyViolation(
      await detect("ScheduleKeyDeletion", { pendingWindowInDays: 7 }, { keyId: key.arn, deletionDate: "Jan 1, 2019 12:00:00 AM" }),
    );
    expect(scheduled).toMatchObject({
      confirmed: false,
      summary: `KMS key ${key.id} is scheduled for deletion on 2019-01-01T00:00:00.000Z`,
      evidence: { required: { keyState: "Enabled", deletionDate: null } },
    });
    expect(onlyViolation(await detect("DisableKey", {})).summary).toBe(`KMS key ${key.id} is disabled`);
    expect(onlyViolation(await detect("DisableKeyRotation", {})).summary).toBe(`KMS key ${key.id} has automatic rotation off`);
  });

  it("leaves rotation alone when the policy does not require it, and retired keys altogether", async () => {
    expect(await detect("DisableKeyRotation", {}, null, { requireRotation: false })).toEqual([]);
    expect(await detect("ScheduleKeyDeletion", {}, null, { retiredKeys: [key.id] })).toEqual([]);
    expect(await detect("DisableKey", {}, null, { retiredKeys: [key.arn] })).toEqual([]);
  });
});

describe("kms-key-protection: live detection on moto", () => {
  it("confirms a scheduled deletion, and a late event for a key no longer pending no longer applies", async () => {
    const key = await makeKey(moto);
    await (await kms()).send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
    const finding = await liveFinding(key);
    expect(finding).toMatchObject({
      confirmed: true,
      evidence: { current: { keyManager: "CUSTOMER", keyState: "PendingDeletion", rotation: null } },
    });
    await control.apply(control.plan(finding, context().options), context());
    expect(onlyCleared(await control.detect({ resource: key }, context()))).toBe(
      `KMS key ${key.id} is enabled, rotation on, which meets the policy`,
    );
  });

  it("reads the key's tags, and a key that does not exist no longer applies", async () => {
    const key = await makeKey(moto);
    await (await kms()).send(new TagResourceCommand({ KeyId: key.id, Tags: [{ TagKey: "DataClassification", TagValue: "PHI" }] }));
    await (await kms()).send(new DisableKeyCommand({ KeyId: key.id }));
    expect((await liveFinding(key)).tags).toEqual({ DataClassification: "PHI" });
    const gone = keyRefOf("00000000-0000-0000-0000-000000000000");
    expect(onlyCleared(await control.detect({ resource: gone }, context()))).toBe(`KMS key ${gone.id} no longer exists`);
  });

  // The emulator reports its own aws/* keys as customer-managed, so an AWS-managed key is injected here.
  it("leaves AWS-managed keys out of the sweep and out of scope (KMS answers injected)", async () => {
    const managedId = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    const injected = new KMSClient({ region: MOTO_REGION, credentials: moto.config.credentials });
    const mock = mockClient(injected);
    mock.on(ListKeysCommand).resolves({ Keys: [{ KeyId: managedId }] });
    mock.on(DescribeKeyCommand).resolves({
      KeyMetadata: { KeyId: managedId, KeyManager: "AWS", KeyState: "Enabled", KeySpec: "SYMMETRIC_DEFAULT", Origin: "AWS_KMS" },
    });
    mock.on(ListResourceTagsCommand).resolves({ Tags: [] });
    const live = context();
    const ctx = { ...live, aws: { ...live.aws, kms: async () => injected } };
    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual([]);
    expect(onlyCleared(await control.detect({ resource: keyRefOf(managedId) }, ctx))).toBe(
      `KMS key ${managedId} is AWS-managed (outside this control), which meets the policy`,
    );
    expect(mock.commandCalls(GetKeyRotationStatusCommand)).toEqual([]);
  });
});

describe("kms-key-protection: plan, apply, verify and rollback on moto", () => {
  it("cancels a scheduled deletion and enables the key, then reschedules it to the same date on rollback", async () => {
    const key = await makeKey(moto);
    await (await kms()).send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
    const scheduledFor = await deletionDate(key);
    const ctx = context();
    const plan = control.plan(await liveFinding(key), ctx.options);
    expect(plan).toMatchObject({ reversible: true, params: { required: { keyState: "Enabled", rotation: true } } });
    expect(plan.steps.join(" ")).toContain("EnableKey follows CancelKeyDeletion");
    const applied = await control.apply(plan, ctx);
    expect(await keyState(moto, key)).toBe("Enabled");
    expect(await rotation(key)).toBe(true);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect(await keyState(moto, key)).toBe("PendingDeletion");
    const rescheduled = await deletionDate(key);
    expect(Math.abs((rescheduled?.getTime() ?? 0) - (scheduledFor?.getTime() ?? 0))).toBeLessThan(DAY_MS);
  });

  it("enables a disabled key and disables it again on rollback", async () => {
    const key = await makeKey(moto);
    await (await kms()).send(new DisableKeyCommand({ KeyId: key.id }));
    const ctx = context();
    const plan = control.plan(await liveFinding(key), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toMatchObject({ value: { keyState: "Disabled", rotation: true } });
    expect(await keyState(moto, key)).toBe("Enabled");
    await control.rollback(plan, applied.before, ctx);
    expect(await keyState(moto, key)).toBe("Disabled");
    expect(await rotation(key)).toBe(true);
  });

  it("turns rotation back on and off again on rollback", async () => {
    const key = await makeKey(moto);
    await (await kms()).send(new DisableKeyRotationCommand({ KeyId: key.id }));
    const ctx = context();
    const plan = control.plan(await liveFinding(key), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(await rotation(key)).toBe(true);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect(await rotation(key)).toBe(false);
    expect(await keyState(moto, key)).toBe("Enabled");
  });

  it("verify fails when the key is disabled again, and rollback refuses another key's state", async () => {
    const key = await makeKey(moto);
    await (await kms()).send(new DisableKeyCommand({ KeyId: key.id }));
    const ctx = context();
    const plan = control.plan(await liveFinding(key), ctx.options);
    const applied = await control.apply(plan, ctx);
    await (await kms()).send(new DisableKeyCommand({ KeyId: key.id }));
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: `KMS key ${key.id} is disabled` });
    await expect(control.rollback(plan, { ...applied.before, arn: keyRefOf("other").arn }, ctx)).rejects.toThrow(/field arn/);
  });
});

describe("kms-key-protection: sweep", () => {
  it("lists customer-managed keys, pending deletion included, and finds the unprotected ones", async () => {
    const healthy = await makeKey(moto);
    const pending = await makeKey(moto);
    await (await kms()).send(new ScheduleKeyDeletionCommand({ KeyId: pending.id, PendingWindowInDays: 30 }));
    const { KeyMetadata: plain } = await (await kms()).send(new CreateKeyCommand({}));
    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(context())) refs.push(ref);
    expect(refs).toEqual(expect.arrayContaining([healthy, pending, keyRefOf(plain?.KeyId ?? "")]));
    expect(onlyCleared(await control.detect({ resource: healthy }, context()))).toMatch(/meets the policy/);
    expect(onlyViolation(await control.detect({ resource: pending }, context())).summary).toMatch(/is scheduled for deletion on /);
    // A key created without rotation is found too.
    expect(onlyViolation(await control.detect({ resource: keyRefOf(plain?.KeyId ?? "") }, context())).summary).toMatch(
      /has automatic rotation off$/,
    );
  });
});

describe.runIf(corpusAvailable())("kms-key-protection: real corpus records", () => {
  const outcomes = async (name: string) =>
    (
      await corpusOutcomes(
        control,
        name,
        offline(),
        (resource, finding) => `${resource.arn}: ${finding ? String(finding.evidence.shortfall) : "compliant"}`,
      )
    ).filter((outcome) => outcome !== "no resource");

  it("flags every ScheduleKeyDeletion that names a key, by the response's ARN", async () => {
    expect(await outcomes("ScheduleKeyDeletion")).toEqual([
      "arn:aws:kms:us-west-2:123456789012:key/1: is scheduled for deletion on 2019-01-01T00:00:00.000Z",
      "arn:aws:kms:us-west-2:123456789012:key/1: is scheduled for deletion on 2019-01-01T00:00:00.000Z",
    ]);
  });

  it("flags every DisableKey that names a key", async () => {
    const results = await outcomes("DisableKey");
    expect(results.length).toBeGreaterThan(0);
    for (const result of results) expect(result).toMatch(/:key\/1: is disabled$/);
  });
});
