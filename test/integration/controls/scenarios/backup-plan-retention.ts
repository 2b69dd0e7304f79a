import { randomUUID } from "node:crypto";
import { CreateBackupPlanCommand, CreateBackupVaultCommand, GetBackupPlanCommand } from "@aws-sdk/client-backup";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { backupPlanRef } from "../../../../remediations/lib/backup";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "../../../support/moto";

export interface PlanFixture {
  planId: string;
  planName: string;
  vaultName: string;
}

/** A vault and a plan with one daily rule that deletes recovery points after `days`. */
export async function createPlan(moto: Moto, days: number): Promise<PlanFixture> {
  const backup = await moto.clients.backup(MOTO_REGION);
  const suffix = randomUUID().slice(0, 8);
  const vaultName = `phi-vault-${suffix}`;
  await backup.send(new CreateBackupVaultCommand({ BackupVaultName: vaultName }));
  const planName = `phi-daily-${suffix}`;
  const created = await backup.send(
    new CreateBackupPlanCommand({
      BackupPlan: {
        BackupPlanName: planName,
        Rules: [
          {
            RuleName: "daily",
            TargetBackupVaultName: vaultName,
            ScheduleExpression: "cron(0 5 ? * * *)",
            Lifecycle: { DeleteAfterDays: days },
          },
        ],
      },
    }),
  );
  return { planId: created.BackupPlanId ?? expect.fail("no plan id"), planName, vaultName };
}

export async function ruleRetentions(moto: Moto, planId: string): Promise<(number | undefined)[]> {
  const backup = await moto.clients.backup(MOTO_REGION);
  const plan = await backup.send(new GetBackupPlanCommand({ BackupPlanId: planId }));
  return (plan.BackupPlan?.Rules ?? []).map((rule) => rule.Lifecycle?.DeleteAfterDays);
}

/** UpdateBackupPlan as CloudTrail records it: the whole new plan document, in camelCase. */
export function updatePlanRecord(plan: PlanFixture, days: number): Record<string, unknown> {
  return cloudTrailRecord({
    eventSource: "backup.amazonaws.com",
    eventName: "UpdateBackupPlan",
    requestParameters: {
      backupPlanId: plan.planId,
      backupPlan: {
        backupPlanName: plan.planName,
        rules: [
          {
            ruleName: "daily",
            targetBackupVaultName: plan.vaultName,
            scheduleExpression: "cron(0 5 ? * * *)",
            lifecycle: { deleteAfterDays: days },
          },
        ],
      },
    },
    responseElements: { backupPlanId: plan.planId, backupPlanArn: backupPlanRef(plan.planId, MOTO_ACCOUNT, MOTO_REGION).arn },
  });
}

const NO_UPDATE_IN_MOTO =
  "moto 5.2.5 has no UpdateBackupPlan to lengthen the rule behind the engine's back; backup-plan-retention.test.ts covers no-longer-applies";

/** Someone shortened a PHI backup plan's retention to 35 days: the UpdateBackupPlan record the engine receives. */
export const scenario: ControlScenario = {
  control: "backup-plan-retention",
  // moto answers ListBackupSelections with HTTP 500 and has no UpdateBackupPlan: here the control only reports, and
  // the fix, its rollback and the PHI coverage sweep are tested with an injected Backup client in
  // backup-plan-retention.test.ts.
  options: { reportUnprotected: false, proposeRetentionFix: false },
  notifyOnly: "moto 5.2.5 has no UpdateBackupPlan; the raise and its rollback are tested with an injected client",

  async arrangeViolation(moto) {
    const plan = await createPlan(moto, 35);
    const resource: ResourceRef = backupPlanRef(plan.planId, MOTO_ACCOUNT, MOTO_REGION);
    return { record: updatePlanRecord(plan, 35), resource };
  },

  async assertFixed() {
    throw new Error("notify-only here: the suite never expects a fix");
  },

  async assertUnchanged(moto, resource) {
    expect(await ruleRetentions(moto, resource.id)).toEqual([35]);
  },

  alwaysApplies: NO_UPDATE_IN_MOTO,
  async makeCompliant() {
    throw new Error(NO_UPDATE_IN_MOTO);
  },
};
