import { CreateUserCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import type { Finding, LiveContext } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control, virtualDeviceName, type ConsoleMfaOptions } from "../../../remediations/iam-console-user-mfa";
import { ACTIONS_ALLOWED_WITHOUT_MFA } from "../../../remediations/lib/require-mfa-policy";
import { assumedRoleIdentity, cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation, TEST_NOW } from "../../support/control-harness";
import { corpusAvailable, corpusEventsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, useMoto } from "../../support/moto";
import {
  consoleUserRef,
  createConsoleUser,
  createLoginProfileRecord,
  enrolMfa,
  REQUIRE_MFA_POLICY,
  requireMfaPolicyOf,
} from "./scenarios/iam-console-user-mfa";

const moto = useMoto();
const DAY_MS = 86_400_000;

function triggerNamed(name: string) {
  const trigger = control.triggers.find((t) => t.name === name);
  if (!trigger) throw new Error(`iam-console-user-mfa has no ${name} trigger`);
  return trigger;
}

function iamEvent(eventName: string, requestParameters: Record<string, unknown> | null, extra: Record<string, unknown> = {}) {
  return changeEventOf({ ...cloudTrailRecord({ eventSource: "iam.amazonaws.com", eventName, requestParameters }), ...extra });
}

/** The live context with a clock `days` after real time: moto stamps login profiles with the real time. */
function liveAt(days: number, options: Record<string, unknown> = {}): LiveContext<ConsoleMfaOptions> {
  return { ...liveContext(moto, control, options), now: () => new Date(Date.now() + days * DAY_MS) };
}

describe("iam-console-user-mfa: identity, options and triggers", () => {
  it("is registered, proposes by default, and declares exact IAM actions", () => {
    expect(controlById("iam-console-user-mfa")).toBe(control);
    expect(control.category).toBe("mfa");
    expect(control.defaultMode).toBe("approve");
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "iam.amazonaws.com CreateLoginProfile",
      "iam.amazonaws.com DeactivateMFADevice",
      "iam.amazonaws.com DeleteVirtualMFADevice",
    ]);
    expect(control.permissions.apply).toEqual(["iam:ListMFADevices", "iam:GetUserPolicy", "iam:PutUserPolicy"]);
    expect(control.permissions.rollback).toEqual(["iam:DeleteUserPolicy", "iam:PutUserPolicy"]);
  });

  it("has no grace period by default and rejects a bad one, naming the field", () => {
    expect(control.options.parse({})).toEqual({ gracePeriodDays: 0 });
    const bad = control.options.safeParse({ gracePeriodDays: -1 });
    expect(bad.error?.issues[0]?.path).toEqual(["gracePeriodDays"]);
    expect(bad.error?.issues[0]?.message).toBe("gracePeriodDays must be 0 or more");
    expect(control.options.safeParse({ graceDays: 3 }).success).toBe(false);
  });

  it("CreateLoginProfile names the user from the request, the response, or the calling IAM user", () => {
    const trigger = triggerNamed("CreateLoginProfile");
    expect(trigger.resources(iamEvent("CreateLoginProfile", { userName: "carol", passwordResetRequired: false }))).toEqual([
      consoleUserRef("carol"),
    ]);
    expect(trigger.resources(iamEvent("CreateLoginProfile", null, { responseElements: { loginProfile: { userName: "dave" } } }))).toEqual([
      consoleUserRef("dave"),
    ]);
    expect(trigger.resources(iamEvent("CreateLoginProfile", null))).toEqual([consoleUserRef("alice")]);
    expect(trigger.resources(iamEvent("CreateLoginProfile", null, { userIdentity: assumedRoleIdentity("admin", "s") }))).toEqual([]);
  });

  it("DeactivateMFADevice names the user, and DeleteVirtualMFADevice only the device name as a lead", () => {
    const deactivate = triggerNamed("DeactivateMFADevice");
    expect(
      deactivate.resources(iamEvent("DeactivateMFADevice", { userName: "erin", serialNumber: "arn:aws:iam::123456789012:mfa/erin-phone" })),
    ).toEqual([consoleUserRef("erin")]);
    expect(
      deactivate.resources(iamEvent("DeactivateMFADevice", { userName: "..." }, { userIdentity: assumedRoleIdentity("admin", "s") })),
    ).toEqual([]);
    const remove = triggerNamed("DeleteVirtualMFADevice");
    expect(remove.resources(iamEvent("DeleteVirtualMFADevice", { serialNumber: `arn:aws:iam::${MOTO_ACCOUNT}:mfa/team/frank` }))).toEqual([
      consoleUserRef("frank"),
    ]);
    expect(remove.resources(iamEvent("DeleteVirtualMFADevice", null))).toEqual([]);
    expect(virtualDeviceName("GAHT12345678")).toBeUndefined();
  });
});

describe("iam-console-user-mfa: detection", () => {
  it("offline, a new console password is an unconfirmed finding naming the user and the grace period", async () => {
    const event = changeEventOf(createLoginProfileRecord("gina"));
    const ctx = { ...offlineContext(moto, control, { gracePeriodDays: 3 }), now: () => new Date(Date.parse(event.time) + DAY_MS) };
    const finding = onlyViolation(await control.detect({ resource: consoleUserRef("gina"), event }, ctx));
    expect(finding).toMatchObject({
      confirmed: false,
      summary: "User gina was given a console password and has no MFA device yet (day 1 of a 3-day grace period)",
      evidence: { userName: "gina", loginProfileCreated: event.time, ageDays: 1 },
    });
  });

  it("offline, MFA device events are unconfirmed and say what could not be checked", async () => {
    const deactivated = onlyViolation(
      await control.detect(
        {
          resource: consoleUserRef("hal"),
          event: iamEvent("DeactivateMFADevice", { userName: "hal", serialNumber: "arn:aws:iam::1:mfa/hal" }),
        },
        offlineContext(moto, control),
      ),
    );
    expect(deactivated.summary).toMatch(/^User hal lost MFA device arn:aws:iam::1:mfa\/hal \(unchecked offline/);
    expect(deactivated.evidence).toMatchObject({ ageDays: null, loginProfileCreated: null });
    const deleted = onlyViolation(
      await control.detect(
        { resource: consoleUserRef("phone"), event: iamEvent("DeleteVirtualMFADevice", { serialNumber: "arn:aws:iam::1:mfa/phone" }) },
        offlineContext(moto, control),
      ),
    );
    expect(deleted.summary).toMatch(/presumed from the device name/);
  });

  it("live, confirms a console user without MFA", async () => {
    const userName = await createConsoleUser(moto);
    const finding = onlyViolation(await control.detect({ resource: consoleUserRef(userName) }, liveContext(moto, control)));
    expect(finding).toMatchObject({
      confirmed: true,
      summary: `User ${userName} has a console password and no MFA device (no grace period)`,
      evidence: { userName, userArn: `arn:aws:iam::${MOTO_ACCOUNT}:user/${userName}`, ageDays: 0 },
    });
  });

  it("live, users with MFA, without a console password, gone, or already held to MFA no longer apply", async () => {
    const enrolled = await createConsoleUser(moto);
    const serial = await enrolMfa(moto, enrolled);
    expect(onlyCleared(await control.detect({ resource: consoleUserRef(enrolled) }, liveContext(moto, control)))).toBe(
      `user ${enrolled} has MFA device ${serial}`,
    );
    await (await moto.clients.iam()).send(new CreateUserCommand({ UserName: "api-only" }));
    expect(onlyCleared(await control.detect({ resource: consoleUserRef("api-only") }, liveContext(moto, control)))).toBe(
      "user api-only has no console password",
    );
    expect(onlyCleared(await control.detect({ resource: consoleUserRef("nobody") }, liveContext(moto, control)))).toBe(
      "user nobody no longer exists",
    );
    const held = await createConsoleUser(moto);
    const someDocument = { Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "s3:*", Resource: "*" }] };
    await (
      await moto.clients.iam()
    ).send(new PutUserPolicyCommand({ UserName: held, PolicyName: REQUIRE_MFA_POLICY, PolicyDocument: JSON.stringify(someDocument) }));
    expect(onlyCleared(await control.detect({ resource: consoleUserRef(held) }, liveContext(moto, control)))).toMatch(
      /already held to MFA/,
    );
  });

  it("live, a deleted device whose name is no user's says honestly that its user is unknown", async () => {
    const event = iamEvent("DeleteVirtualMFADevice", { serialNumber: `arn:aws:iam::${MOTO_ACCOUNT}:mfa/my-yubikey-app` });
    const [resource] = triggerNamed("DeleteVirtualMFADevice").resources(event);
    if (!resource) throw new Error("no resource");
    expect(onlyCleared(await control.detect({ resource, event }, liveContext(moto, control)))).toMatch(
      /^no IAM user is named my-yubikey-app: the deleted device's name is not its user's/,
    );
  });
});

describe("iam-console-user-mfa: grace period", () => {
  it("within the grace period the plan is a notify-only warning; after it, the fix", async () => {
    const userName = await createConsoleUser(moto);
    const early = liveAt(2, { gracePeriodDays: 7 });
    const warning = onlyViolation(await control.detect({ resource: consoleUserRef(userName) }, early));
    expect(warning.summary).toMatch(/\(day 2 of a 7-day grace period\)$/);
    const notify = control.plan(warning, early.options);
    expect(notify).toMatchObject({ notifyOnly: true, params: { action: "notify" } });
    expect(notify.summary).toMatch(
      new RegExp(
        `^Remind user ${userName} to enrol an MFA device: day 2 of the 7-day grace period; MFA is enforced from \\d{4}-\\d{2}-\\d{2}\\.$`,
      ),
    );
    await expect(control.apply(notify, early)).rejects.toThrow(/grace-period warning/);

    const late = liveAt(8, { gracePeriodDays: 7 });
    const overdue = onlyViolation(await control.detect({ resource: consoleUserRef(userName) }, late));
    expect(overdue.summary).toMatch(/\(7-day grace period over\)$/);
    expect(control.plan(overdue, late.options)).toMatchObject({ params: { action: "require-mfa" } });
  });
});

describe("iam-console-user-mfa: plan, apply, verify, rollback on moto", () => {
  async function liveFinding(userName: string): Promise<Finding> {
    return onlyViolation(await control.detect({ resource: consoleUserRef(userName) }, liveContext(moto, control)));
  }

  it("plans in plain words who loses what, with the AWS self-manage-MFA policy for that user", async () => {
    const userName = await createConsoleUser(moto);
    const plan = control.plan(await liveFinding(userName), control.options.parse({}));
    expect(plan.reversible).toBe(true);
    expect(plan.notifyOnly).toBeUndefined();
    expect(plan.steps).toContain(
      `User ${userName} loses every action except enrolling MFA until they sign in with MFA; their password, access keys and other policies are untouched (access keys without an MFA session are denied too).`,
    );
    const document = JSON.parse(plan.params.policyDocument) as { Statement: Record<string, unknown>[] };
    const deny = document.Statement.find((s) => s.Effect === "Deny");
    expect(deny).toEqual({
      Sid: "DenyAllExceptMfaEnrolmentWithoutMfa",
      Effect: "Deny",
      NotAction: [...ACTIONS_ALLOWED_WITHOUT_MFA],
      Resource: "*",
      Condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } },
    });
    const own = document.Statement.find((s) => s.Sid === "AllowManageOwnMfaAndPassword");
    expect(own?.Resource).toBe(`arn:aws:iam::${MOTO_ACCOUNT}:user/${userName}`);
  });

  it("attaches the inline policy, verifies it, and rollback deletes it", async () => {
    const userName = await createConsoleUser(moto);
    const ctx = liveContext(moto, control);
    const plan = control.plan(await liveFinding(userName), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ userName, policyName: REQUIRE_MFA_POLICY, previousDocument: null });
    expect(await requireMfaPolicyOf(moto, userName)).toEqual(JSON.parse(plan.params.policyDocument));
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true, state: { requireMfaPolicyAttached: true } });
    // Detection now sees the user held to MFA, so a sweep does not propose the fix again.
    expect(onlyCleared(await control.detect({ resource: consoleUserRef(userName) }, ctx))).toMatch(/already held to MFA/);
    await control.rollback(plan, applied.before, ctx);
    expect(await requireMfaPolicyOf(moto, userName)).toBeNull();
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false });
  });

  it("rollback puts back an inline policy of the same name that was there before", async () => {
    const userName = await createConsoleUser(moto);
    const ctx = liveContext(moto, control);
    const plan = control.plan(await liveFinding(userName), ctx.options);
    const earlier = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }] };
    await (
      await moto.clients.iam()
    ).send(new PutUserPolicyCommand({ UserName: userName, PolicyName: REQUIRE_MFA_POLICY, PolicyDocument: JSON.stringify(earlier) }));
    const applied = await control.apply(plan, ctx);
    await control.rollback(plan, applied.before, ctx);
    expect(await requireMfaPolicyOf(moto, userName)).toEqual(earlier);
  });

  it("leaves a user who enrolled meanwhile alone, and refuses captured state for another user", async () => {
    const userName = await createConsoleUser(moto);
    const ctx = liveContext(moto, control);
    const plan = control.plan(await liveFinding(userName), ctx.options);
    await enrolMfa(moto, userName);
    const applied = await control.apply(plan, ctx);
    expect(applied.after).toEqual(applied.before);
    expect(await requireMfaPolicyOf(moto, userName)).toBeNull();
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await expect(
      control.rollback(plan, { userName: "mallory", policyName: REQUIRE_MFA_POLICY, previousDocument: null }, ctx),
    ).rejects.toThrow(/field userName/);
    await expect(control.rollback(plan, { userName, policyName: "other" }, ctx)).rejects.toThrow(/field policyName/);
  });
});

describe("iam-console-user-mfa: sweep", () => {
  it("yields users with a console password only, and detection finds those without MFA", async () => {
    const withoutMfa = await createConsoleUser(moto, "sweep");
    const withMfa = await createConsoleUser(moto, "sweep");
    await enrolMfa(moto, withMfa);
    await (await moto.clients.iam()).send(new CreateUserCommand({ UserName: "sweep-api-only" }));
    const ctx = liveContext(moto, control);
    const ids: string[] = [];
    for await (const ref of control.sweep(ctx)) ids.push(ref.id);
    expect(ids).toEqual(expect.arrayContaining([withoutMfa, withMfa]));
    expect(ids).not.toContain("sweep-api-only");
    expect((await control.detect({ resource: consoleUserRef(withoutMfa) }, ctx)).map((v) => v.kind)).toEqual(["violation"]);
    expect((await control.detect({ resource: consoleUserRef(withMfa) }, ctx)).map((v) => v.kind)).toEqual(["no-longer-applies"]);
  });
});

describe.runIf(corpusAvailable())("iam-console-user-mfa: real corpus records", () => {
  it("flags the user of every real CreateLoginProfile offline, unconfirmed", async () => {
    const trigger = triggerNamed("CreateLoginProfile");
    const events = corpusEventsFor(trigger);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      const resources = trigger.resources(event);
      expect(resources.map((r) => r.id)).toEqual([String(event.request?.userName)]);
      const [resource] = resources;
      if (!resource) throw new Error(`no resource for ${event.origin}`);
      const ctx = { ...offlineContext(moto, control), now: () => TEST_NOW };
      const finding = onlyViolation(await control.detect({ resource, event }, ctx));
      expect(finding).toMatchObject({
        confirmed: false,
        resource: { account: event.account },
        evidence: { loginProfileCreated: event.time },
      });
    }
  });

  it("finds no user in the broken DeactivateMFADevice samples (no userName, redacted identity)", () => {
    const trigger = triggerNamed("DeactivateMFADevice");
    const events = corpusEventsFor(trigger);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) expect(trigger.resources(event)).toEqual([]);
  });
});
