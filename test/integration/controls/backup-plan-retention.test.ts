import {
  BackupClient,
  DeleteBackupPlanCommand,
  DeleteBackupVaultCommand,
  GetBackupPlanCommand,
  GetBackupSelectionCommand,
  ListBackupPlansCommand,
  ListBackupSelectionsCommand,
  UpdateBackupPlanCommand,
  type BackupRule,
} from "@aws-sdk/client-backup";
import { CreateBucketCommand, PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import type { ChangeEvent, JsonObject, LiveContext } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { control, type BackupRetentionOptions } from "../../../remediations/backup-plan-retention";
import { bucketRef } from "../../../remediations/lib/arn";
import { backupPlanRef, backupVaultRef } from "../../../remediations/lib/backup";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { createPlan, updatePlanRecord } from "./scenarios/backup-plan-retention";

const moto = useMoto();

function backupEvent(name: string, request: JsonObject | null): ChangeEvent {
  return changeEventOf(cloudTrailRecord({ eventSource: "backup.amazonaws.com", eventName: name, requestParameters: request }));
}

function triggerFor(name: string) {
  return control.triggers.find((t) => t.name === name) ?? expect.fail(`no trigger ${name}`);
}

describe("backup-plan-retention: identity, options and triggers", () => {
  it("is registered, proposes by default, and keeps six years unless told otherwise", () => {
    expect(controlById("backup-plan-retention")).toBe(control);
    expect(control.category).toBe("backup");
    expect(control.defaultMode).toBe("approve");
    expect(control.options.parse({})).toEqual({ minimumRetentionDays: 2190, proposeRetentionFix: true, reportUnprotected: true });
    expect(control.options.safeParse({ minimumRetentionDays: 0 }).error?.issues[0]?.path).toEqual(["minimumRetentionDays"]);
    expect(control.triggers.map((t) => t.name)).toEqual(["DeleteBackupPlan", "UpdateBackupPlan", "DeleteBackupVault"]);
  });

  it("names the plan or the vault, and nothing for null parameters", () => {
    expect(triggerFor("DeleteBackupPlan").resources(backupEvent("DeleteBackupPlan", { backupPlanId: "plan-1" }))).toEqual([
      backupPlanRef("plan-1", MOTO_ACCOUNT, MOTO_REGION),
    ]);
    expect(triggerFor("DeleteBackupVault").resources(backupEvent("DeleteBackupVault", { backupVaultName: "vault-1" }))).toEqual([
      backupVaultRef("vault-1", MOTO_ACCOUNT, MOTO_REGION),
    ]);
    expect(triggerFor("UpdateBackupPlan").resources(backupEvent("UpdateBackupPlan", null))).toEqual([]);
  });
});

describe("backup-plan-retention: offline detection from the event alone", () => {
  const offline = offlineContext(moto, control);
  const plan = { planId: "plan-offline", planName: "phi-daily", vaultName: "vault" };
  const ref = backupPlanRef(plan.planId, MOTO_ACCOUNT, MOTO_REGION);

  it("flags an UpdateBackupPlan whose rule keeps data 35 days, naming the rule", async () => {
    const finding = onlyViolation(await control.detect({ resource: ref, event: changeEventOf(updatePlanRecord(plan, 35)) }, offline));
    expect(finding.summary).toBe("Backup plan phi-daily keeps data less than 2190 days: daily (35 days)");
    expect(finding.confirmed).toBe(false);
  });

  it("accepts a rule that keeps data long enough, and one without a lifecycle (kept until deleted by hand)", async () => {
    expect(await control.detect({ resource: ref, event: changeEventOf(updatePlanRecord(plan, 2555)) }, offline)).toEqual([]);
    const noLifecycle = backupEvent("UpdateBackupPlan", {
      backupPlanId: plan.planId,
      backupPlan: { backupPlanName: "p", rules: [{ ruleName: "r" }] },
    });
    expect(await control.detect({ resource: ref, event: noLifecycle }, offline)).toEqual([]);
  });

  it("reports a deleted plan and a deleted vault as notify-only findings", async () => {
    const deleted = onlyViolation(
      await control.detect({ resource: ref, event: backupEvent("DeleteBackupPlan", { backupPlanId: plan.planId }) }, offline),
    );
    expect(deleted.summary).toMatch(/was deleted: nothing it selected is backed up/);
    expect(control.plan(deleted, offline.options)).toMatchObject({ notifyOnly: true, reversible: false });
    const vault = backupVaultRef("vault-x", MOTO_ACCOUNT, MOTO_REGION);
    expect(
      onlyViolation(
        await control.detect({ resource: vault, event: backupEvent("DeleteBackupVault", { backupVaultName: "vault-x" }) }, offline),
      ).summary,
    ).toBe("Backup vault vault-x was deleted");
  });
});

describe("backup-plan-retention: live on moto", () => {
  it("confirms a short rule on moto and plans to raise it to the minimum", async () => {
    const plan = await createPlan(moto, 30);
    const ctx = liveContext(moto, control);
    const finding = onlyViolation(await control.detect({ resource: backupPlanRef(plan.planId, MOTO_ACCOUNT, MOTO_REGION) }, ctx));
    expect(finding).toMatchObject({ confirmed: true, evidence: { shortRules: [{ ruleName: "daily", deleteAfterDays: 30 }] } });
    expect(control.plan(finding, ctx.options)).toMatchObject({
      reversible: true,
      summary: `Raise the retention of backup plan ${plan.planName} to 2190 days.`,
    });
  });

  it("only notifies when the policy turns proposals off", async () => {
    const plan = await createPlan(moto, 30);
    const ctx = liveContext(moto, control, { proposeRetentionFix: false });
    const finding = onlyViolation(await control.detect({ resource: backupPlanRef(plan.planId, MOTO_ACCOUNT, MOTO_REGION) }, ctx));
    expect(control.plan(finding, ctx.options).notifyOnly).toBe(true);
  });

  it("no longer applies to a plan that keeps data long enough, and confirms a deleted plan and vault", async () => {
    const plan = await createPlan(moto, 2555);
    const ref = backupPlanRef(plan.planId, MOTO_ACCOUNT, MOTO_REGION);
    const ctx = liveContext(moto, control);
    expect(onlyCleared(await control.detect({ resource: ref }, ctx))).toMatch(/keeps data at least 2190 days/);

    const backup = await moto.clients.backup(MOTO_REGION);
    await backup.send(new DeleteBackupPlanCommand({ BackupPlanId: plan.planId }));
    expect(onlyViolation(await control.detect({ resource: ref }, ctx))).toMatchObject({ confirmed: true, evidence: { deleted: true } });
    await backup.send(new DeleteBackupVaultCommand({ BackupVaultName: plan.vaultName }));
    expect(
      onlyViolation(await control.detect({ resource: backupVaultRef(plan.vaultName, MOTO_ACCOUNT, MOTO_REGION) }, ctx)).confirmed,
    ).toBe(true);
  });

  it("the sweep lists the live plans", async () => {
    const plan = await createPlan(moto, 14);
    const ctx = liveContext(moto, control, { reportUnprotected: false });
    const swept: string[] = [];
    for await (const ref of control.sweep(ctx)) swept.push(ref.arn);
    expect(swept).toContain(backupPlanRef(plan.planId, MOTO_ACCOUNT, MOTO_REGION).arn);
  });
});

/*
 * moto 5.2.5 answers ListBackupSelections and CreateBackupSelection with HTTP 500, so which resources the plans
 * select is injected here; the buckets and their PHI tags are real, on moto.
 */
describe("backup-plan-retention: PHI data stores outside every plan (selections injected)", () => {
  async function phiBucket(name: string, tags: { Key: string; Value: string }[]) {
    const s3 = await moto.clients.s3(MOTO_REGION);
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    await s3.send(new PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: tags } }));
    return bucketRef(name, MOTO_ACCOUNT, MOTO_REGION);
  }

  async function contextWithSelections(selection: {
    Resources?: string[];
    ListOfTags?: { ConditionType: "STRINGEQUALS"; ConditionKey: string; ConditionValue: string }[];
  }): Promise<LiveContext<BackupRetentionOptions>> {
    const injected = new BackupClient({ region: MOTO_REGION, credentials: moto.config.credentials });
    const mock = mockClient(injected);
    mock.on(ListBackupPlansCommand).resolves({ BackupPlansList: [{ BackupPlanId: "plan-a" }] });
    mock.on(ListBackupSelectionsCommand).resolves({ BackupSelectionsList: [{ SelectionId: "selection-a" }] });
    mock
      .on(GetBackupSelectionCommand)
      .resolves({ BackupSelection: { SelectionName: "phi", IamRoleArn: "arn:aws:iam::123456789012:role/backup", ...selection } });
    const ctx = liveContext(moto, control);
    return { ...ctx, aws: { ...ctx.aws, backup: async () => injected } };
  }

  it("reports a PHI bucket no selection picks, and not one picked by ARN pattern or by tag", async () => {
    const lonely = await phiBucket("phi-unprotected-a", [{ Key: "DataClassification", Value: "PHI" }]);
    const byArn = await phiBucket("phi-covered-arn", [{ Key: "DataClassification", Value: "PHI" }]);
    const byTag = await phiBucket("phi-covered-tag", [
      { Key: "PHI", Value: "true" },
      { Key: "backup", Value: "daily" },
    ]);
    const ctx = await contextWithSelections({
      Resources: ["arn:aws:s3:::phi-covered-*"],
      ListOfTags: [{ ConditionType: "STRINGEQUALS", ConditionKey: "backup", ConditionValue: "daily" }],
    });
    const finding = onlyViolation(await control.detect({ resource: lonely }, ctx));
    expect(finding.summary).toBe("PHI bucket phi-unprotected-a is selected by no backup plan");
    expect(control.plan(finding, ctx.options).notifyOnly).toBe(true);
    expect(await control.detect({ resource: byArn }, ctx)).toEqual([]);
    expect(
      await control.detect(
        { resource: byTag },
        await contextWithSelections({ ListOfTags: [{ ConditionType: "STRINGEQUALS", ConditionKey: "backup", ConditionValue: "daily" }] }),
      ),
    ).toEqual([]);
  });

  it("leaves buckets that are not PHI alone, and the sweep offers the data stores as well as the plans", async () => {
    const plain = await phiBucket("plain-logs-b", [{ Key: "team", Value: "web" }]);
    const ctx = await contextWithSelections({});
    expect(await control.detect({ resource: plain }, ctx)).toEqual([]);
    const swept: string[] = [];
    for await (const ref of control.sweep(liveContext(moto, control))) swept.push(ref.arn);
    expect(swept).toContain(plain.arn);
  });
});

/*
 * moto 5.2.5 has no UpdateBackupPlan, so the fix and its rollback run against an injected Backup client that keeps
 * the plan document the way the service does: what UpdateBackupPlan writes is what GetBackupPlan reads next.
 */
describe("backup-plan-retention: raising a short rule and rolling it back (Backup injected)", () => {
  function backupHoldingOnePlan(initial: BackupRule[]) {
    const injected = new BackupClient({ region: MOTO_REGION, credentials: moto.config.credentials });
    const mock = mockClient(injected);
    let rules = initial;
    const updates: unknown[] = [];
    mock.on(GetBackupPlanCommand).callsFake(() => ({ BackupPlanId: "plan-x", BackupPlan: { BackupPlanName: "phi-daily", Rules: rules } }));
    mock.on(UpdateBackupPlanCommand).callsFake((input: { BackupPlan?: { Rules?: BackupRule[] } }) => {
      updates.push(input);
      rules = (input.BackupPlan?.Rules ?? []).map((rule, index) => ({ ...rule, RuleId: `rule-${index}` }));
      return { BackupPlanId: "plan-x" };
    });
    const ctx = liveContext(moto, control);
    return { ctx: { ...ctx, aws: { ...ctx.aws, backup: async () => injected } }, updates, rules: () => rules };
  }

  it("raises only the short rules, keeps every other setting, verifies, and puts the saved rules back", async () => {
    const daily = {
      RuleId: "rule-0",
      RuleName: "daily",
      TargetBackupVaultName: "vault",
      ScheduleExpression: "cron(0 5 ? * * *)",
      Lifecycle: { DeleteAfterDays: 35, MoveToColdStorageAfterDays: 7 },
    };
    const yearly = { RuleId: "rule-1", RuleName: "yearly", TargetBackupVaultName: "vault", Lifecycle: { DeleteAfterDays: 3650 } };
    const held = backupHoldingOnePlan([daily, yearly]);
    const ref = backupPlanRef("plan-x", MOTO_ACCOUNT, MOTO_REGION);
    const finding = onlyViolation(await control.detect({ resource: ref }, held.ctx));
    const plan = control.plan(finding, held.ctx.options);
    const applied = await control.apply(plan, held.ctx);
    expect(held.updates[0]).toMatchObject({
      BackupPlanId: "plan-x",
      BackupPlan: {
        BackupPlanName: "phi-daily",
        Rules: [
          {
            RuleName: "daily",
            ScheduleExpression: "cron(0 5 ? * * *)",
            Lifecycle: { DeleteAfterDays: 2190, MoveToColdStorageAfterDays: 7 },
          },
          { RuleName: "yearly", Lifecycle: { DeleteAfterDays: 3650 } },
        ],
      },
    });
    expect(held.updates[0]).not.toHaveProperty("BackupPlan.Rules.0.RuleId");
    expect(await control.verify(plan, held.ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, held.ctx);
    expect(held.rules().map((rule) => rule.Lifecycle?.DeleteAfterDays)).toEqual([35, 3650]);
  });
});
