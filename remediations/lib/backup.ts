import {
  GetBackupPlanCommand,
  GetBackupSelectionCommand,
  paginateListBackupPlans,
  paginateListBackupSelections,
  type BackupClient,
  type BackupRule,
  type Condition,
} from "@aws-sdk/client-backup";
import { matchesGlob, type ChangeEvent, type LiveContext, type ResourceRef } from "@hipaa-remediate/core";
import { resolveAccount } from "./account";
import { numberOf, objectAt, objectsOf, stringOf } from "./json-fields";
import { defineResourceKind, noTags } from "./resource-kind";
import type { TagMap } from "./tags";

export const BACKUP_SOURCE = "backup.amazonaws.com";
export const BACKUP_PLAN_TYPE = "AWS::Backup::BackupPlan";
export const BACKUP_VAULT_TYPE = "AWS::Backup::BackupVault";

export function backupPlanRef(planId: string, account: string, region: string): ResourceRef {
  return { type: BACKUP_PLAN_TYPE, id: planId, arn: `arn:aws:backup:${region}:${account}:backup-plan:${planId}`, account, region };
}

export function backupVaultRef(vaultName: string, account: string, region: string): ResourceRef {
  return { type: BACKUP_VAULT_TYPE, id: vaultName, arn: `arn:aws:backup:${region}:${account}:backup-vault:${vaultName}`, account, region };
}

/** `requestParameters.backupPlanId` of DeleteBackupPlan and UpdateBackupPlan. */
export function backupPlanRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  const planId = stringOf(event.request?.backupPlanId) ?? stringOf(event.response?.backupPlanId);
  return planId ? [backupPlanRef(planId, event.account, event.region)] : [];
}

/** `requestParameters.backupVaultName` of DeleteBackupVault. */
export function backupVaultRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  const vaultName = stringOf(event.request?.backupVaultName);
  return vaultName ? [backupVaultRef(vaultName, event.account, event.region)] : [];
}

/** One rule of a plan, reduced to what retention is judged by. `deleteAfterDays` null means kept until deleted by hand. */
export type RetentionRule = {
  ruleName: string;
  deleteAfterDays: number | null;
};

/** The rules of UpdateBackupPlan's `requestParameters.backupPlan.rules[]` (camelCase, as CloudTrail records them). */
export function retentionRulesFromRequest(event: ChangeEvent): RetentionRule[] | undefined {
  const plan = objectAt(event.request, "backupPlan");
  if (!plan) return undefined;
  return objectsOf(plan.rules).map((rule) => ({
    ruleName: stringOf(rule.ruleName) ?? "(unnamed rule)",
    deleteAfterDays: numberOf(objectAt(rule, "lifecycle")?.deleteAfterDays) ?? null,
  }));
}

export function retentionRulesOf(rules: readonly BackupRule[] | undefined): RetentionRule[] {
  return (rules ?? []).map((rule) => ({
    ruleName: rule.RuleName ?? "(unnamed rule)",
    deleteAfterDays: rule.Lifecycle?.DeleteAfterDays ?? null,
  }));
}

export interface BackupPlanState {
  planId: string;
  planName: string;
  /** Set once the plan is deleted: Backup keeps answering GetBackupPlan with it for a while. */
  deletionDate: string | null;
  rules: BackupRule[];
}

/** The plan as Backup holds it now. Throws ResourceNotFoundException when it is gone for good. */
export async function readBackupPlan(backup: BackupClient, planId: string): Promise<BackupPlanState> {
  const response = await backup.send(new GetBackupPlanCommand({ BackupPlanId: planId }));
  return {
    planId,
    planName: response.BackupPlan?.BackupPlanName ?? planId,
    deletionDate: response.DeletionDate?.toISOString() ?? null,
    rules: response.BackupPlan?.Rules ?? [],
  };
}

/** Every backup plan of the sweep's regions (the latest version of each), listed once per sweep run. */
export const backupPlans = defineResourceKind({
  type: BACKUP_PLAN_TYPE,
  noun: "backup plan",
  async *list(ctx: LiveContext) {
    const account = await resolveAccount(ctx);
    for (const region of ctx.regions) {
      const backup = await ctx.aws.backup(region);
      for await (const page of paginateListBackupPlans({ client: backup }, {})) {
        for (const plan of page.BackupPlansList ?? []) {
          if (plan.BackupPlanId && !plan.DeletionDate) yield backupPlanRef(plan.BackupPlanId, account, region);
        }
      }
    }
  },
  tags: noTags,
});

/** What the selections of every plan in a region pick: resource ARN patterns, and tag conditions. */
export interface BackupCoverage {
  resources: string[];
  tagConditions: { key: string; value: string }[];
}

function conditionsOf(conditions: readonly Condition[] | undefined): { key: string; value: string }[] {
  return (conditions ?? [])
    .filter((condition) => condition.ConditionType === "STRINGEQUALS" && condition.ConditionKey !== undefined)
    .map((condition) => ({ key: condition.ConditionKey ?? "", value: condition.ConditionValue ?? "" }));
}

/** Reads every selection of every plan in the region once per sweep run, through the run's cache. */
export function backupCoverage(ctx: LiveContext, region: string): Promise<BackupCoverage> {
  return ctx.reads.read(`backup-coverage:${region}`, async () => {
    const backup = await ctx.aws.backup(region);
    const coverage: BackupCoverage = { resources: [], tagConditions: [] };
    for await (const page of paginateListBackupPlans({ client: backup }, {})) {
      for (const plan of page.BackupPlansList ?? []) {
        if (!plan.BackupPlanId || plan.DeletionDate) continue;
        for await (const selections of paginateListBackupSelections({ client: backup }, { BackupPlanId: plan.BackupPlanId })) {
          for (const listed of selections.BackupSelectionsList ?? []) {
            const selection = await backup.send(
              new GetBackupSelectionCommand({ BackupPlanId: plan.BackupPlanId, SelectionId: listed.SelectionId }),
            );
            coverage.resources.push(...(selection.BackupSelection?.Resources ?? []));
            coverage.tagConditions.push(...conditionsOf(selection.BackupSelection?.ListOfTags));
          }
        }
      }
    }
    return coverage;
  });
}

/** Whether some selection picks the resource, by ARN or by one of its tags. */
export function isCovered(coverage: BackupCoverage, ref: ResourceRef, tags: TagMap): boolean {
  return (
    coverage.resources.some((pattern) => matchesGlob(pattern, ref.arn)) ||
    coverage.tagConditions.some(({ key, value }) => tags[key] === value)
  );
}
