import { UpdateAccountPasswordPolicyCommand, type UpdateAccountPasswordPolicyCommandInput } from "@aws-sdk/client-iam";
import type { Finding } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control, passwordPolicyFromRequest, type PasswordPolicy } from "../../../remediations/iam-password-policy";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { MOTO_ACCOUNT, useMoto } from "../../support/moto";
import { deletePasswordPolicy, livePasswordPolicy, passwordPolicyRef } from "./scenarios/iam-password-policy";

const moto = useMoto();

function policyEvent(name: "UpdateAccountPasswordPolicy" | "DeleteAccountPasswordPolicy", request: Record<string, unknown> | null = null) {
  return changeEventOf(
    cloudTrailRecord({ eventSource: "iam.amazonaws.com", eventName: name, awsRegion: "us-east-1", requestParameters: request }),
  );
}

const BASELINE: PasswordPolicy = {
  minimumLength: 14,
  requireUppercase: true,
  requireLowercase: true,
  requireNumbers: true,
  requireSymbols: true,
  reusePrevention: 24,
  maxAgeDays: null,
  allowUsersToChange: true,
  hardExpiry: false,
};

/** A policy that meets the default baseline exactly. */
function strongInput(): UpdateAccountPasswordPolicyCommandInput {
  return {
    MinimumPasswordLength: 14,
    RequireSymbols: true,
    RequireNumbers: true,
    RequireUppercaseCharacters: true,
    RequireLowercaseCharacters: true,
    AllowUsersToChangePassword: true,
    PasswordReusePrevention: 24,
  };
}

async function putPolicy(input: UpdateAccountPasswordPolicyCommandInput): Promise<void> {
  await (await moto.clients.iam()).send(new UpdateAccountPasswordPolicyCommand(input));
}

describe("iam-password-policy: identity, options and triggers", () => {
  it("is registered with both triggers and exact IAM actions", () => {
    expect(controlById("iam-password-policy")).toBe(control);
    expect(control.category).toBe("credential-rotation");
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "iam.amazonaws.com UpdateAccountPasswordPolicy",
      "iam.amazonaws.com DeleteAccountPasswordPolicy",
    ]);
    expect(control.permissions).toEqual({
      detect: ["iam:GetAccountPasswordPolicy"],
      apply: ["iam:GetAccountPasswordPolicy", "iam:UpdateAccountPasswordPolicy"],
      rollback: ["iam:UpdateAccountPasswordPolicy", "iam:DeleteAccountPasswordPolicy"],
    });
  });

  it("defaults to 14 characters, reuse prevention 24, every class and no forced expiry", () => {
    expect(control.options.parse({})).toEqual({
      minimumPasswordLength: 14,
      passwordReusePrevention: 24,
      requireUppercaseCharacters: true,
      requireLowercaseCharacters: true,
      requireNumbers: true,
      requireSymbols: true,
      allowUsersToChangePassword: true,
      maxPasswordAgeDays: null,
    });
  });

  it("rejects bad options, naming the field", () => {
    const tooLong = control.options.safeParse({ passwordReusePrevention: 30 });
    expect(tooLong.success).toBe(false);
    expect(tooLong.error?.issues[0]?.message).toMatch(/passwordReusePrevention must be at most 24/);
    expect(control.options.safeParse({ minimumPasswordLength: 4 }).error?.issues[0]?.path).toEqual(["minimumPasswordLength"]);
    expect(control.options.safeParse({ maxAge: 90 }).success).toBe(false);
  });

  it("names the one account-wide policy in us-east-1 whatever region or request the event has", () => {
    for (const trigger of control.triggers) {
      const event = changeEventOf(
        cloudTrailRecord({ eventSource: trigger.source, eventName: trigger.name, awsRegion: "eu-west-1", requestParameters: null }),
      );
      expect(trigger.resources(event)).toEqual([passwordPolicyRef()]);
    }
  });

  it("reads the policy a request put in place, with IAM's defaults for omitted fields", () => {
    expect(
      passwordPolicyFromRequest(policyEvent("UpdateAccountPasswordPolicy", { minimumPasswordLength: 8, requireSymbols: true })),
    ).toEqual({
      minimumLength: 8,
      requireUppercase: false,
      requireLowercase: false,
      requireNumbers: false,
      requireSymbols: true,
      reusePrevention: null,
      maxAgeDays: null,
      allowUsersToChange: false,
      hardExpiry: false,
    });
    // Numbers recorded as strings and booleans as "true" are read too.
    expect(
      passwordPolicyFromRequest(
        policyEvent("UpdateAccountPasswordPolicy", {
          minimumPasswordLength: "16",
          passwordReusePrevention: "24",
          requireNumbers: "true",
          maxPasswordAge: 0,
        }),
      ),
    ).toMatchObject({ minimumLength: 16, reusePrevention: 24, requireNumbers: true, maxAgeDays: null });
    expect(passwordPolicyFromRequest(policyEvent("UpdateAccountPasswordPolicy", null))).toBeUndefined();
    expect(passwordPolicyFromRequest(policyEvent("DeleteAccountPasswordPolicy"))).toBeNull();
  });
});

describe("iam-password-policy: detection", () => {
  it("offline, a weakening update is an unconfirmed finding listing every gap", async () => {
    const event = policyEvent("UpdateAccountPasswordPolicy", {
      minimumPasswordLength: 8,
      requireSymbols: true,
      passwordReusePrevention: 5,
    });
    const finding = onlyViolation(await control.detect({ resource: passwordPolicyRef(), event }, offlineContext(moto, control)));
    expect(finding.confirmed).toBe(false);
    expect(finding.summary).toBe(
      `The IAM password policy of account ${MOTO_ACCOUNT} allows 8-character passwords (baseline 14); prevents reuse of only the last 5 passwords (baseline 24); does not require uppercase letters, lowercase letters, numbers; does not let users change their own password`,
    );
    expect(finding.evidence).toMatchObject({ required: { ...BASELINE, requireSymbols: true } });
  });

  it("offline, a deleted policy is a finding and an update that meets the baseline is none", async () => {
    const deleted = onlyViolation(
      await control.detect(
        { resource: passwordPolicyRef(), event: policyEvent("DeleteAccountPasswordPolicy") },
        offlineContext(moto, control),
      ),
    );
    expect(deleted.summary).toMatch(/is missing/);
    expect(deleted.evidence.current).toBeNull();
    const strong = policyEvent("UpdateAccountPasswordPolicy", {
      minimumPasswordLength: 20,
      requireSymbols: true,
      requireNumbers: true,
      requireUppercaseCharacters: true,
      requireLowercaseCharacters: true,
      allowUsersToChangePassword: true,
      passwordReusePrevention: 24,
    });
    expect(await control.detect({ resource: passwordPolicyRef(), event: strong }, offlineContext(moto, control))).toEqual([]);
    // Null parameters say nothing about the new policy: no offline verdict.
    expect(
      await control.detect(
        { resource: passwordPolicyRef(), event: policyEvent("UpdateAccountPasswordPolicy", null) },
        offlineContext(moto, control),
      ),
    ).toEqual([]);
  });

  it("live, confirms a weak policy and a missing one", async () => {
    await putPolicy({ MinimumPasswordLength: 10 });
    const weak = onlyViolation(await control.detect({ resource: passwordPolicyRef() }, liveContext(moto, control)));
    expect(weak).toMatchObject({ confirmed: true, evidence: { current: { minimumLength: 10, reusePrevention: null } } });
    await deletePasswordPolicy(moto);
    const missing = onlyViolation(await control.detect({ resource: passwordPolicyRef() }, liveContext(moto, control)));
    expect(missing.evidence.current).toBeNull();
  });

  it("live, a late event for a policy already strong enough no longer applies", async () => {
    await putPolicy(strongInput());
    const reason = onlyCleared(
      await control.detect(
        { resource: passwordPolicyRef(), event: policyEvent("DeleteAccountPasswordPolicy") },
        liveContext(moto, control),
      ),
    );
    expect(reason).toMatch(/at least 14 characters, .*which meets the policy$/);
  });

  it("a forced expiry is a gap only when the policy asks for one", async () => {
    await putPolicy({ ...strongInput(), MaxPasswordAge: 365 });
    expect(onlyCleared(await control.detect({ resource: passwordPolicyRef() }, liveContext(moto, control)))).toMatch(
      /expiry after 365 days/,
    );
    const finding = onlyViolation(
      await control.detect({ resource: passwordPolicyRef() }, liveContext(moto, control, { maxPasswordAgeDays: 90 })),
    );
    expect(finding.evidence.shortfall).toBe("expires passwords after 365 days (baseline 90)");
  });
});

describe("iam-password-policy: plan, apply, verify, rollback on moto", () => {
  async function liveFinding(options: Record<string, unknown> = {}): Promise<Finding> {
    return onlyViolation(await control.detect({ resource: passwordPolicyRef() }, liveContext(moto, control, options)));
  }

  it("plans the whole baseline in plain words, keeping stricter values, and says nobody loses access", async () => {
    await putPolicy({ MinimumPasswordLength: 20, MaxPasswordAge: 60, HardExpiry: true });
    const plan = control.plan(await liveFinding(), control.options.parse({}));
    expect(plan.params.required).toEqual({ ...BASELINE, minimumLength: 20, maxAgeDays: 60, hardExpiry: true });
    expect(plan.summary).toBe(
      `Set the IAM password policy of account ${MOTO_ACCOUNT} to at least 20 characters, requiring uppercase letters, lowercase letters, numbers, symbols, no reuse of the last 24, expiry after 60 days (hard), users may change their own.`,
    );
    expect(plan.reversible).toBe(true);
    expect(plan.steps.join(" ")).toMatch(/No one loses access/);
  });

  it("puts the whole policy, keeping a 20-character minimum, verifies, and rolls back to the saved policy exactly", async () => {
    await putPolicy({ MinimumPasswordLength: 20, RequireSymbols: true, PasswordReusePrevention: 3 });
    const saved = await livePasswordPolicy(moto);
    const ctx = liveContext(moto, control);
    const plan = control.plan(await liveFinding(), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({
      arn: passwordPolicyRef().arn,
      value: {
        ...BASELINE,
        minimumLength: 20,
        requireUppercase: false,
        requireLowercase: false,
        requireNumbers: false,
        reusePrevention: 3,
        allowUsersToChange: false,
      },
    });
    expect(await livePasswordPolicy(moto)).toMatchObject({
      MinimumPasswordLength: 20,
      PasswordReusePrevention: 24,
      RequireUppercaseCharacters: true,
      RequireLowercaseCharacters: true,
      RequireNumbers: true,
      RequireSymbols: true,
      AllowUsersToChangePassword: true,
      HardExpiry: false,
    });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect(await livePasswordPolicy(moto)).toEqual(saved);
  });

  it("when there was no policy, puts the baseline and rollback deletes it again", async () => {
    await deletePasswordPolicy(moto);
    const ctx = liveContext(moto, control);
    const plan = control.plan(await liveFinding(), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: passwordPolicyRef().arn, value: null });
    expect(await livePasswordPolicy(moto)).toMatchObject({ MinimumPasswordLength: 14, PasswordReusePrevention: 24 });
    await control.rollback(plan, applied.before, ctx);
    expect(await livePasswordPolicy(moto)).toBeNull();
    // Rolling back twice is harmless: the policy is already gone.
    await control.rollback(plan, applied.before, ctx);
  });

  it("leaves a policy strengthened meanwhile alone, and verify fails when it is weakened again", async () => {
    await putPolicy({ MinimumPasswordLength: 8 });
    const ctx = liveContext(moto, control);
    const plan = control.plan(await liveFinding(), ctx.options);
    await putPolicy({ ...strongInput(), MinimumPasswordLength: 30 });
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual(applied.after);
    expect((await livePasswordPolicy(moto))?.MinimumPasswordLength).toBe(30);
    await putPolicy({ MinimumPasswordLength: 8 });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: expect.stringMatching(/allows 8-character passwords/) });
  });

  it("refuses tampered captured state, naming the field", async () => {
    await putPolicy({ MinimumPasswordLength: 8 });
    const ctx = liveContext(moto, control);
    const plan = control.plan(await liveFinding(), ctx.options);
    await expect(control.rollback(plan, { arn: passwordPolicyRef().arn, value: { minimumLength: "eight" } }, ctx)).rejects.toThrow(
      /field value/,
    );
    await expect(control.rollback(plan, { arn: passwordPolicyRef("210987654321").arn, value: null }, ctx)).rejects.toThrow(/field arn/);
  });
});

describe("iam-password-policy: sweep", () => {
  it("yields the one account policy and finds it weak", async () => {
    await putPolicy({ MinimumPasswordLength: 8 });
    const ctx = liveContext(moto, control);
    const refs = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual([passwordPolicyRef()]);
    expect((await control.detect({ resource: passwordPolicyRef() }, ctx)).map((v) => v.kind)).toEqual(["violation"]);
  });
});
