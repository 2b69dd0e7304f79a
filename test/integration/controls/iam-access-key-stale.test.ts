import { randomUUID } from "node:crypto";
import {
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListUsersCommand,
  TagUserCommand,
  UpdateAccessKeyCommand,
  type AccessKey,
} from "@aws-sdk/client-iam";
import { canonicalJson, type ChangeEvent, type Finding, type JsonObject, type ResourceRef, type Verdict } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { assessKey, control, type KeyFacts } from "../../../remediations/iam-access-key-stale";
import { accessKeyRef, userRef } from "../../../remediations/lib/arn";
import { isNotFound } from "../../../remediations/lib/aws-errors";
import { assumedRoleIdentity, cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext } from "../../support/control-harness";
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, useMoto } from "../../support/moto";
import { createKey, keyParts, keyStatuses, scenario } from "./scenarios/iam-access-key-stale";

const moto = useMoto();
const iam = await moto.clients.iam();
const DAY_MS = 86_400_000;

/** Moto stamps keys with the real time, so each test sets the injected clock relative to a key's CreateDate. */
function daysAfter(key: AccessKey, days: number): Date {
  if (!key.CreateDate) throw new Error("key without CreateDate");
  return new Date(key.CreateDate.getTime() + days * DAY_MS);
}

/** The harness context on a clock of the test's choosing (see daysAfter). */
const context = (now: Date, options: Record<string, unknown> = {}) => ({ ...liveContext(moto, control, options), now: () => now });
const offline = (now: Date) => ({ ...offlineContext(moto, control), now: () => now });

/** A CreateAccessKey record, by default from the IAM user alice, through the engine's own normaliser. */
function createAccessKeyEvent(input: {
  request: JsonObject | null;
  response?: JsonObject | null;
  userIdentity?: Record<string, unknown>;
}): ChangeEvent {
  return changeEventOf(
    cloudTrailRecord({
      eventSource: "iam.amazonaws.com",
      eventName: "CreateAccessKey",
      requestParameters: input.request,
      responseElements: input.response ?? null,
      ...(input.userIdentity ? { userIdentity: input.userIdentity } : {}),
    }),
  );
}

/** The event for `key`, with a planted secret to prove it never travels further than the event itself. */
function eventFor(key: AccessKey): ChangeEvent {
  return createAccessKeyEvent({
    request: { userName: key.UserName ?? null },
    response: {
      accessKey: {
        accessKeyId: key.AccessKeyId ?? null,
        status: "Active",
        userName: key.UserName ?? null,
        secretAccessKey: "PLANTED-SECRET-must-not-leak",
      },
    },
  });
}

async function userWithKeys(count: number): Promise<{ userName: string; keys: AccessKey[] }> {
  const userName = `user-${randomUUID().slice(0, 8)}`;
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const keys: AccessKey[] = [];
  for (let i = 0; i < count; i += 1) keys.push(await createKey(iam, userName));
  return { userName, keys };
}

function refOf(key: AccessKey): ResourceRef {
  return accessKeyRef(key.UserName ?? "?", key.AccessKeyId ?? "?", MOTO_ACCOUNT);
}

function first<T>(items: readonly T[]): T {
  const [item] = items;
  if (item === undefined) return expect.fail("expected at least one item");
  return item;
}

function findings(verdicts: Verdict[]): Finding[] {
  return verdicts.flatMap((v) => (v.kind === "violation" ? [v.finding] : []));
}

const trigger = first(control.triggers);

describe("iam-access-key-stale: identity and options", () => {
  it("is registered under its file name, listens to CreateAccessKey and never asks to delete a key", () => {
    expect(controlById("iam-access-key-stale")).toBe(control);
    expect(control.category).toBe("credential-rotation");
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual(["iam.amazonaws.com CreateAccessKey"]);
    const all = [...control.permissions.detect, ...control.permissions.apply, ...control.permissions.rollback];
    expect(all).toContain("iam:UpdateAccessKey");
    expect(all).not.toContain("iam:DeleteAccessKey");
  });

  it("fills every threshold with its default", () => {
    expect(control.options.parse({})).toEqual({ warnAfterDays: 90, deactivateAfterDays: 180, unusedAfterDays: 90 });
    expect(control.options.parse(undefined)).toEqual({ warnAfterDays: 90, deactivateAfterDays: 180, unusedAfterDays: 90 });
  });

  it("rejects thresholds that make no sense, naming the field", () => {
    const inverted = control.options.safeParse({ warnAfterDays: 200, deactivateAfterDays: 100 });
    expect(inverted.error?.issues[0]).toMatchObject({
      path: ["deactivateAfterDays"],
      message: "deactivateAfterDays must be at least warnAfterDays",
    });
    const fractional = control.options.safeParse({ unusedAfterDays: 1.5 });
    expect(fractional.error?.issues[0]).toMatchObject({
      path: ["unusedAfterDays"],
      message: "unusedAfterDays must be a whole number of days",
    });
    const zero = control.options.safeParse({ warnAfterDays: 0 });
    expect(zero.error?.issues[0]?.path).toEqual(["warnAfterDays"]);
  });
});

describe("iam-access-key-stale: trigger extraction", () => {
  it("names the user from requestParameters.userName", () => {
    expect(trigger.resources(createAccessKeyEvent({ request: { userName: "bob" } }))).toEqual([userRef("bob", MOTO_ACCOUNT)]);
  });

  it("falls back to the response's user, then to the calling IAM user when userName is absent", () => {
    const fromResponse = createAccessKeyEvent({ request: null, response: { accessKey: { accessKeyId: "AKIAX", userName: "carol" } } });
    expect(trigger.resources(fromResponse).map((r) => r.id)).toEqual(["carol"]);
    expect(trigger.resources(createAccessKeyEvent({ request: null })).map((r) => r.id)).toEqual(["alice"]);
    expect(trigger.resources(createAccessKeyEvent({ request: { userName: "..." } })).map((r) => r.id)).toEqual(["alice"]);
  });

  it("yields nothing when no IAM user is involved (a root or role caller creating keys for itself)", () => {
    const root = { type: "Root", principalId: MOTO_ACCOUNT, arn: `arn:aws:iam::${MOTO_ACCOUNT}:root`, accountId: MOTO_ACCOUNT };
    expect(trigger.resources(createAccessKeyEvent({ request: null, userIdentity: root }))).toEqual([]);
    const role = assumedRoleIdentity("deploy-role", "session");
    expect(trigger.resources(createAccessKeyEvent({ request: {}, userIdentity: role }))).toEqual([]);
  });
});

describe("iam-access-key-stale: assessment", () => {
  const options = control.options.parse({});
  const facts: KeyFacts = {
    userName: "bob",
    accessKeyId: "AKIAOLD",
    status: "Active",
    createDate: "2024-01-01T00:00:00.000Z",
    lastUsedDate: null,
  };

  it("counts a never-used key's idle time from its creation", () => {
    expect(assessKey(facts, new Date("2024-04-10T00:00:00Z"), options)).toEqual({
      ageDays: 100,
      idleDays: 100,
      reasons: ["age", "unused"],
    });
  });

  it("counts idle time from the last use, so a busy old key is stale by age only", () => {
    const used = { ...facts, lastUsedDate: "2024-04-01T00:00:00.000Z" };
    expect(assessKey(used, new Date("2024-04-10T00:00:00Z"), options)).toEqual({ ageDays: 100, idleDays: 9, reasons: ["age"] });
  });

  it("never calls an inactive key stale, and treats a clock behind the key as age zero", () => {
    expect(assessKey({ ...facts, status: "Inactive" }, new Date("2030-01-01T00:00:00Z"), options).reasons).toEqual([]);
    expect(assessKey(facts, new Date("2023-12-01T00:00:00Z"), options)).toEqual({ ageDays: 0, idleDays: 0, reasons: [] });
  });
});

describe("iam-access-key-stale: detection on CreateAccessKey against moto", () => {
  it("reports the user's other stale key, never the new one, and never carries the secret", async () => {
    const { userName, keys } = await userWithKeys(2);
    const [old, fresh] = [keys[0] ?? expect.fail(), keys[1] ?? expect.fail()];
    await iam.send(new TagUserCommand({ UserName: userName, Tags: [{ Key: "Environment", Value: "prod" }] }));
    const event = eventFor(fresh);
    const resources = trigger.resources(event);
    expect(resources).toEqual([userRef(userName, MOTO_ACCOUNT)]);

    const verdicts = await control.detect({ resource: first(resources), event }, context(daysAfter(old, 100)));
    const finding = first(findings(verdicts));
    expect(verdicts).toHaveLength(1);
    expect(finding).toMatchObject({
      control: "iam-access-key-stale",
      resource: refOf(old),
      confirmed: true,
      tags: { Environment: "prod" },
      event: { id: event.id, name: "CreateAccessKey" },
      evidence: { userName, accessKeyId: old.AccessKeyId, status: "Active", ageDays: 100, lastUsedDate: null, reasons: ["age", "unused"] },
    });
    expect(finding.summary).toBe(
      `Access key ${old.AccessKeyId} of user ${userName} is 100 days old (rotation age 90 days) and has never been used in the 100 days since its creation (limit 90 days)`,
    );
    expect(JSON.stringify(verdicts)).not.toContain("PLANTED-SECRET");
    expect(JSON.stringify(verdicts)).not.toMatch(/secret/i);
  });

  it("finds nothing stale while the other key is young, and says why", async () => {
    const { keys } = await userWithKeys(2);
    const [old, fresh] = [keys[0] ?? expect.fail(), keys[1] ?? expect.fail()];
    const verdicts = await control.detect(
      { resource: first(trigger.resources(eventFor(fresh))), event: eventFor(fresh) },
      context(daysAfter(old, 30)),
    );
    expect(verdicts).toEqual([
      {
        kind: "no-longer-applies",
        resource: refOf(old),
        reason: `access key ${old.AccessKeyId} of user ${old.UserName} is 30 days old and idle for 30, within the limits`,
      },
    ]);
  });

  it("reports no-longer-applies for a key already deactivated, a user with no other key, and a deleted user", async () => {
    const { userName, keys } = await userWithKeys(2);
    const [old, fresh] = [keys[0] ?? expect.fail(), keys[1] ?? expect.fail()];
    await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: old.AccessKeyId, Status: "Inactive" }));
    const ctx = context(daysAfter(old, 400));
    const event = eventFor(fresh);
    expect(await control.detect({ resource: userRef(userName, MOTO_ACCOUNT), event }, ctx)).toEqual([
      { kind: "no-longer-applies", resource: refOf(old), reason: `access key ${old.AccessKeyId} of user ${userName} is Inactive` },
    ]);

    const lone = await userWithKeys(1);
    const loneKey = first(lone.keys);
    expect(await control.detect({ resource: userRef(lone.userName, MOTO_ACCOUNT), event: eventFor(loneKey) }, ctx)).toEqual([
      {
        kind: "no-longer-applies",
        resource: userRef(lone.userName, MOTO_ACCOUNT),
        reason: `user ${lone.userName} has no other access keys`,
      },
    ]);

    await iam.send(new DeleteAccessKeyCommand({ UserName: lone.userName, AccessKeyId: loneKey.AccessKeyId }));
    await iam.send(new DeleteUserCommand({ UserName: lone.userName }));
    expect(await control.detect({ resource: userRef(lone.userName, MOTO_ACCOUNT), event: eventFor(loneKey) }, ctx)).toEqual([
      { kind: "no-longer-applies", resource: userRef(lone.userName, MOTO_ACCOUNT), reason: `user ${lone.userName} no longer exists` },
    ]);
  });

  it("reports one verdict per other key", async () => {
    const { userName, keys } = await userWithKeys(2);
    const [a, b] = [keys[0] ?? expect.fail(), keys[1] ?? expect.fail()];
    // An event whose response lost the new key's id: every key of the user is judged.
    const event = createAccessKeyEvent({ request: { userName } });
    const verdicts = await control.detect({ resource: userRef(userName, MOTO_ACCOUNT), event }, context(daysAfter(a, 95)));
    expect(
      findings(verdicts)
        .map((f) => f.resource.id)
        .sort(),
    ).toEqual([refOf(a).id, refOf(b).id].sort());
  });

  it("cannot judge other keys offline, so it reports nothing", async () => {
    const event = createAccessKeyEvent({ request: { userName: "bob" }, response: { accessKey: { accessKeyId: "AKIANEW" } } });
    expect(await control.detect({ resource: userRef("bob", MOTO_ACCOUNT), event }, offline(new Date("2030-01-01T00:00:00Z")))).toEqual([]);
  });
});

describe("iam-access-key-stale: detection of one key (sweep and re-check)", () => {
  it("flags a key unused past unusedAfterDays even while it is young enough for rotation", async () => {
    const { keys } = await userWithKeys(1);
    const key = first(keys);
    const options = { warnAfterDays: 365, deactivateAfterDays: 400, unusedAfterDays: 30 };
    const finding = first(findings(await control.detect({ resource: refOf(key) }, context(daysAfter(key, 40), options))));
    expect(finding.evidence).toMatchObject({ reasons: ["unused"], ageDays: 40, idleDays: 40 });
    expect(finding.event).toBeUndefined();
    const plan = control.plan(finding, control.options.parse(options));
    expect(plan.notifyOnly).toBe(true);
  });

  it("records when a key was last used", async () => {
    const { keys } = await userWithKeys(1);
    const key = first(keys);
    // Moto stamps a key's last use when a request is signed with it.
    const asKeyOwner = new IAMClient({
      ...moto.config,
      credentials: { accessKeyId: key.AccessKeyId ?? "", secretAccessKey: key.SecretAccessKey ?? MOTO_CREDENTIALS.secretAccessKey },
    });
    await asKeyOwner.send(new ListUsersCommand({}));
    asKeyOwner.destroy();
    const lastUsed = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.AccessKeyId }));
    const lastUsedDate = lastUsed.AccessKeyLastUsed?.LastUsedDate ?? expect.fail("moto recorded no last use");
    const now = new Date(lastUsedDate.getTime() + 100 * DAY_MS);
    const finding = first(findings(await control.detect({ resource: refOf(key) }, context(now))));
    expect(finding.evidence).toMatchObject({ lastUsedDate: lastUsedDate.toISOString(), idleDays: 100, reasons: ["age", "unused"] });
    expect(finding.summary).toMatch(/and has not been used for 100 days \(limit 90 days\)$/);
  });

  it("reports no-longer-applies for a deleted key and a deleted user", async () => {
    const { userName, keys } = await userWithKeys(1);
    const key = first(keys);
    await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId }));
    const ctx = context(daysAfter(key, 300));
    expect(await control.detect({ resource: refOf(key) }, ctx)).toMatchObject([{ kind: "no-longer-applies", reason: /no longer exists/ }]);
    await iam.send(new DeleteUserCommand({ UserName: userName }));
    expect(await control.detect({ resource: refOf(key) }, ctx)).toEqual([
      { kind: "no-longer-applies", resource: refOf(key), reason: `user ${userName} no longer exists` },
    ]);
  });

  it("rejects a malformed key ref, naming the id", async () => {
    const bad: ResourceRef = { ...accessKeyRef("x", "AKIAX", MOTO_ACCOUNT), id: "no-slash" };
    await expect(control.detect({ resource: bad }, context(new Date()))).rejects.toThrow(/resource\.id no-slash/);
  });
});

describe("iam-access-key-stale: plans by age", () => {
  async function staleFinding(days: number): Promise<{ finding: Finding; key: AccessKey }> {
    const { keys } = await userWithKeys(1);
    const key = first(keys);
    const finding = first(findings(await control.detect({ resource: refOf(key) }, context(daysAfter(key, days)))));
    return { finding, key };
  }

  it("only notifies between the warning and deactivation ages, saying when the key will be deactivated", async () => {
    const { finding, key } = await staleFinding(100);
    const options = control.options.parse({});
    const plan = control.plan(finding, options);
    const deactivateOn = daysAfter(key, 180).toISOString().slice(0, 10);
    expect(plan).toMatchObject({ notifyOnly: true, params: { action: "notify", ageDays: 100, deactivateOn } });
    expect(plan.summary).toBe(
      `Rotate access key ${key.AccessKeyId} of user ${key.UserName}: it is 100 days old and will be deactivated on ${deactivateOn} (after 180 days).`,
    );
    await expect(control.apply(plan, context(daysAfter(key, 100)))).rejects.toMatchObject({ name: "NotifyOnlyPlanError" });
    expect(await keyStatuses(iam, key.UserName ?? "")).toEqual({ [key.AccessKeyId ?? ""]: "Active" });
    expect(await control.verify(plan, context(daysAfter(key, 100)))).toMatchObject({ ok: true, state: { status: "Active" } });
  });

  it("deactivates at the deactivation age, purely: same finding and options give the same serialisable plan", async () => {
    const { finding } = await staleFinding(180);
    const snapshot = structuredClone(finding);
    const options = control.options.parse({});
    const plan = control.plan(finding, options);
    expect(control.plan(finding, options)).toEqual(plan);
    expect(finding).toEqual(snapshot);
    expect(JSON.parse(canonicalJson(plan))).toEqual(plan);
    expect(plan).toMatchObject({ reversible: true, params: { action: "deactivate", ageDays: 180 } });
    expect(plan.notifyOnly).toBeUndefined();
    // A longer deactivation age turns the same finding back into a warning.
    expect(control.plan(finding, control.options.parse({ deactivateAfterDays: 365 })).notifyOnly).toBe(true);
  });

  it("refuses a finding whose evidence is not this control's, naming the field", async () => {
    const { finding } = await staleFinding(200);
    const { createDate: _dropped, ...evidence } = finding.evidence;
    expect(() => control.plan({ ...finding, evidence }, control.options.parse({}))).toThrow(/field createDate/);
  });
});

describe("iam-access-key-stale: apply, verify, rollback", () => {
  it("deactivates the key, verifies it is Inactive, and rollback reactivates it", async () => {
    const { userName, keys } = await userWithKeys(2);
    const [old, other] = [keys[0] ?? expect.fail(), keys[1] ?? expect.fail()];
    const ctx = context(daysAfter(old, 200));
    const finding = first(findings(await control.detect({ resource: refOf(old) }, ctx)));
    const plan = control.plan(finding, ctx.options);

    const result = await control.apply(plan, ctx);
    expect(result).toEqual({
      before: { userName, accessKeyId: old.AccessKeyId, status: "Active" },
      after: { userName, accessKeyId: old.AccessKeyId, status: "Inactive" },
    });
    expect(await keyStatuses(iam, userName)).toEqual({ [old.AccessKeyId ?? ""]: "Inactive", [other.AccessKeyId ?? ""]: "Active" });
    expect(await control.verify(plan, ctx)).toEqual({ ok: true, state: { userName, accessKeyId: old.AccessKeyId, status: "Inactive" } });
    expect(await control.detect({ resource: refOf(old) }, ctx)).toMatchObject([{ kind: "no-longer-applies" }]);

    await control.rollback(plan, result.before, ctx);
    expect(await keyStatuses(iam, userName)).toEqual({ [old.AccessKeyId ?? ""]: "Active", [other.AccessKeyId ?? ""]: "Active" });
    expect(await control.verify(plan, ctx)).toMatchObject({
      ok: false,
      detail: `access key ${old.AccessKeyId} is Active, expected Inactive`,
    });
  });

  it("changes nothing when the key was deactivated before apply, and rollback keeps it that way", async () => {
    const { userName, keys } = await userWithKeys(1);
    const key = first(keys);
    const ctx = context(daysAfter(key, 200));
    const plan = control.plan(first(findings(await control.detect({ resource: refOf(key) }, ctx))), ctx.options);
    await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId, Status: "Inactive" }));
    const result = await control.apply(plan, ctx);
    expect(result.after).toEqual(result.before);
    expect(result.before).toMatchObject({ status: "Inactive" });
    await control.rollback(plan, result.before, ctx);
    expect(await keyStatuses(iam, userName)).toEqual({ [key.AccessKeyId ?? ""]: "Inactive" });
  });

  it("fails apply with a not-found error when the key or the user is gone", async () => {
    const { userName, keys } = await userWithKeys(1);
    const key = first(keys);
    const ctx = context(daysAfter(key, 200));
    const plan = control.plan(first(findings(await control.detect({ resource: refOf(key) }, ctx))), ctx.options);
    await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId }));
    const keyGone = await control.apply(plan, ctx).catch((error: unknown) => error);
    expect(keyGone).toMatchObject({
      name: "ResourceGoneError",
      message: `access key ${key.AccessKeyId} of user ${userName} no longer exists`,
    });
    expect(isNotFound(keyGone)).toBe(true);
    await iam.send(new DeleteUserCommand({ UserName: userName }));
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({
      name: "ResourceGoneError",
      message: `user ${userName} no longer exists`,
    });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, state: { status: "deleted" } });
  });

  it("refuses captured state for another key, naming the field", async () => {
    const { keys } = await userWithKeys(1);
    const key = first(keys);
    const ctx = context(daysAfter(key, 200));
    const plan = control.plan(first(findings(await control.detect({ resource: refOf(key) }, ctx))), ctx.options);
    await expect(control.rollback(plan, { userName: key.UserName ?? "", accessKeyId: "AKIAOTHER", status: "Active" }, ctx)).rejects.toThrow(
      /field accessKeyId/,
    );
    await expect(control.rollback(plan, { userName: key.UserName ?? "", accessKeyId: key.AccessKeyId ?? "" }, ctx)).rejects.toThrow(
      /field status/,
    );
  });
});

describe("iam-access-key-stale: sweep", () => {
  it("yields one ref per active access key, skipping inactive keys and users without keys", async () => {
    const both = await userWithKeys(2);
    const [active, inactive] = [both.keys[0] ?? expect.fail(), both.keys[1] ?? expect.fail()];
    await iam.send(new UpdateAccessKeyCommand({ UserName: both.userName, AccessKeyId: inactive.AccessKeyId, Status: "Inactive" }));
    const keyless = await userWithKeys(0);

    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(context(new Date()))) refs.push(ref);
    expect(refs).toContainEqual(refOf(active));
    expect(refs).not.toContainEqual(refOf(inactive));
    expect(refs.some((ref) => ref.id.startsWith(`${keyless.userName}/`))).toBe(false);
    expect(new Set(refs.map((ref) => ref.arn)).size).toBe(refs.length);
    for (const ref of refs) expect(ref).toMatchObject({ type: "AWS::IAM::AccessKey", account: MOTO_ACCOUNT, region: "us-east-1" });
  });
});

describe("iam-access-key-stale: end-to-end scenario", () => {
  it("arranges a real stale key whose CreateAccessKey record leads to a deactivation that satisfies assertFixed", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    await scenario.assertUnchanged(moto, resource);
    expect(JSON.stringify(record)).not.toMatch(/secret/i);
    const response = record.responseElements as JsonObject;
    expect(response).toMatchObject({ accessKey: { userName: keyParts(resource).userName } });
    const event = changeEventOf(record);
    const { userName } = keyParts(resource);
    expect(trigger.resources(event)).toEqual([userRef(userName, MOTO_ACCOUNT)]);

    const later = new Date(Date.now() + (scenario.clockOffsetDays ?? 0) * DAY_MS);
    const ctx = context(later, scenario.options);
    const verdicts = await control.detect({ resource: first(trigger.resources(event)), event }, ctx);
    const finding = first(findings(verdicts));
    expect(verdicts).toHaveLength(1);
    expect(finding.resource).toEqual(resource);
    const plan = control.plan(finding, ctx.options);
    expect(plan.params.action).toBe("deactivate");
    await control.apply(plan, ctx);
    await scenario.assertFixed(moto, resource);
    await expect(scenario.assertUnchanged(moto, resource)).rejects.toThrow();
  });

  it("makeCompliant turns the verdict into no-longer-applies for the arranged key", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    await scenario.makeCompliant(moto, resource);
    await scenario.assertFixed(moto, resource);
    const event = changeEventOf(record);
    const ctx = context(new Date(Date.now() + (scenario.clockOffsetDays ?? 0) * DAY_MS), scenario.options);
    expect(await control.detect({ resource: first(trigger.resources(event)), event }, ctx)).toMatchObject([
      { kind: "no-longer-applies", resource },
    ]);
  });
});
