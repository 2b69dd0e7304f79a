import { DescribeBackupVaultCommand, UpdateBackupPlanCommand, type BackupRule, type BackupRuleInput } from "@aws-sdk/client-backup";
import {
  CATEGORIES,
  defineControl,
  eventRef,
  type ChangeEvent,
  type ControlContext,
  type Finding,
  type JsonObject,
  type LiveContext,
  type Plan,
  type ResourceRef,
  type Verdict,
} from "@hipaa-remediate/core";
import { z } from "zod";
import { isNotFound } from "./lib/aws-errors";
import {
  BACKUP_PLAN_TYPE,
  BACKUP_SOURCE,
  BACKUP_VAULT_TYPE,
  backupCoverage,
  backupPlanRefsFromEvent,
  backupPlans,
  backupVaultRefsFromEvent,
  isCovered,
  readBackupPlan,
  retentionRulesFromRequest,
  retentionRulesOf,
  type RetentionRule,
} from "./lib/backup";
import { parseControlData } from "./lib/control-data";
import { InvalidControlDataError, NotifyOnlyPlanError, ResourceGoneError } from "./lib/errors";
import { tables } from "./lib/dynamodb";
import { dbInstances } from "./lib/rds";
import type { ResourceKind } from "./lib/resource-kind";
import { buckets } from "./lib/s3-buckets";
import { findPhiMarker } from "./lib/tags";

const CONTROL_ID = "backup-plan-retention";
/** 45 CFR 164.316(b)(2)(i): documentation is kept six years. */
const SIX_YEARS_IN_DAYS = 2190;

const optionsSchema = z
  .strictObject({
    /** The shortest retention a backup rule may have, in days. */
    minimumRetentionDays: z.number().int().positive().default(SIX_YEARS_IN_DAYS),
    /**
     * Propose raising short rules to the minimum (an approver decides: a plan's rules belong to its owners).
     * When false, every finding only notifies.
     */
    proposeRetentionFix: z.boolean().default(true),
    /** Report PHI-tagged data stores that no backup plan selects, during the sweep. */
    reportUnprotected: z.boolean().default(true),
  })
  .prefault({});

export type BackupRetentionOptions = z.output<typeof optionsSchema>;

/** The data stores whose PHI members the sweep checks for a backup plan. */
const PROTECTED_KINDS: readonly ResourceKind[] = [buckets, dbInstances, tables];

type ShortRule = RetentionRule & { deleteAfterDays: number };

function shortRules(rules: readonly RetentionRule[], minimum: number): ShortRule[] {
  return rules.filter((rule): rule is ShortRule => rule.deleteAfterDays !== null && rule.deleteAfterDays < minimum);
}

function describeRules(rules: readonly ShortRule[]): string {
  return rules.map((rule) => `${rule.ruleName} (${rule.deleteAfterDays} days)`).join(", ");
}

export type BackupPlanParams =
  { kind: "raise-retention"; planId: string; region: string; minimumRetentionDays: number } | { kind: "notify"; what: string };

const raiseSchema = z.object({
  kind: z.literal("raise-retention"),
  planId: z.string().min(1),
  region: z.string().min(1),
  minimumRetentionDays: z.number().int().positive(),
});

/** What apply captures: the rules as they were, so rollback puts back exactly their lifecycles. */
const capturedSchema = z.object({
  planId: z.string().min(1),
  planName: z.string().min(1),
  rules: z.array(z.record(z.string(), z.json())),
});

function finding(
  resource: ResourceRef,
  summary: string,
  evidence: JsonObject,
  context: { confirmed: boolean; event: ChangeEvent | undefined; tags?: Record<string, string> },
): Verdict {
  const result: Finding = {
    control: CONTROL_ID,
    resource,
    summary,
    evidence,
    confirmed: context.confirmed,
    tags: context.tags ?? {},
    ...(context.event ? { event: eventRef(context.event) } : {}),
  };
  return { kind: "violation", finding: result };
}

function retentionVerdict(
  resource: ResourceRef,
  planName: string,
  rules: readonly RetentionRule[],
  options: BackupRetentionOptions,
  context: { confirmed: boolean; event: ChangeEvent | undefined },
): Verdict[] {
  const short = shortRules(rules, options.minimumRetentionDays);
  if (short.length === 0) {
    return context.confirmed
      ? [
          {
            kind: "no-longer-applies",
            resource,
            reason: `every rule of backup plan ${planName} keeps data at least ${options.minimumRetentionDays} days`,
          },
        ]
      : [];
  }
  return [
    finding(
      resource,
      `Backup plan ${planName} keeps data less than ${options.minimumRetentionDays} days: ${describeRules(short)}`,
      { planName, shortRules: short, minimumRetentionDays: options.minimumRetentionDays },
      context,
    ),
  ];
}

function detectOffline(resource: ResourceRef, event: ChangeEvent | undefined, options: BackupRetentionOptions): Verdict[] {
  if (!event) return [];
  const context = { confirmed: false, event };
  if (event.name === "DeleteBackupPlan")
    return [
      finding(resource, `Backup plan ${resource.id} was deleted: nothing it selected is backed up any more`, { deleted: true }, context),
    ];
  if (event.name === "DeleteBackupVault") return [finding(resource, `Backup vault ${resource.id} was deleted`, { deleted: true }, context)];
  const rules = retentionRulesFromRequest(event);
  const plan = event.request?.backupPlan;
  const requestedName = plan && typeof plan === "object" && !Array.isArray(plan) ? plan.backupPlanName : undefined;
  const planName = typeof requestedName === "string" ? requestedName : resource.id;
  return rules ? retentionVerdict(resource, planName, rules, options, context) : [];
}

async function detectPlan(
  resource: ResourceRef,
  event: ChangeEvent | undefined,
  ctx: LiveContext<BackupRetentionOptions>,
): Promise<Verdict[]> {
  const context = { confirmed: true, event };
  try {
    const plan = await readBackupPlan(await ctx.aws.backup(resource.region), resource.id);
    if (plan.deletionDate !== null) {
      return [
        finding(
          resource,
          `Backup plan ${plan.planName} was deleted on ${plan.deletionDate}: nothing it selected is backed up any more`,
          { deleted: true, planName: plan.planName, deletionDate: plan.deletionDate },
          context,
        ),
      ];
    }
    return retentionVerdict(resource, plan.planName, retentionRulesOf(plan.rules), ctx.options, context);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    return [
      finding(resource, `Backup plan ${resource.id} was deleted: nothing it selected is backed up any more`, { deleted: true }, context),
    ];
  }
}

async function detectVault(
  resource: ResourceRef,
  event: ChangeEvent | undefined,
  ctx: LiveContext<BackupRetentionOptions>,
): Promise<Verdict[]> {
  try {
    await (await ctx.aws.backup(resource.region)).send(new DescribeBackupVaultCommand({ BackupVaultName: resource.id }));
    return [{ kind: "no-longer-applies", resource, reason: `backup vault ${resource.id} exists again` }];
  } catch (error) {
    if (!isNotFound(error)) throw error;
    return [finding(resource, `Backup vault ${resource.id} was deleted`, { deleted: true }, { confirmed: true, event })];
  }
}

/** A PHI data store found by the sweep: covered by some plan's selection, or reported. */
async function detectUnprotected(resource: ResourceRef, kind: ResourceKind, ctx: LiveContext<BackupRetentionOptions>): Promise<Verdict[]> {
  const tags = await kind.tags(resource, ctx);
  const marker = findPhiMarker(tags, ctx.tags);
  if (!marker) return [];
  if (isCovered(await backupCoverage(ctx, resource.region), resource, tags)) return [];
  return [
    finding(
      resource,
      `PHI ${kind.noun} ${resource.id} is selected by no backup plan`,
      { unprotected: true, phiTag: marker },
      { confirmed: true, event: undefined, tags },
    ),
  ];
}

/** The rules with every short lifecycle raised to the minimum, as UpdateBackupPlan takes them. */
function raisedRules(rules: readonly BackupRule[], minimum: number): BackupRuleInput[] {
  return rules.map((rule) => {
    const { RuleId: _id, ...input } = rule;
    const days = rule.Lifecycle?.DeleteAfterDays;
    if (days === undefined || days >= minimum) return input;
    return { ...input, Lifecycle: { ...rule.Lifecycle, DeleteAfterDays: minimum } };
  });
}

async function updateRules(ctx: LiveContext, region: string, planId: string, planName: string, rules: BackupRuleInput[]): Promise<void> {
  const backup = await ctx.aws.backup(region);
  await backup.send(new UpdateBackupPlanCommand({ BackupPlanId: planId, BackupPlan: { BackupPlanName: planName, Rules: rules } }));
}

function readRaisePlan(plan: Plan<BackupPlanParams>) {
  if (plan.params.kind === "notify") throw new NotifyOnlyPlanError(`plan for ${plan.resource.arn} only notifies: ${plan.params.what}`);
  return parseControlData(raiseSchema, plan.params, `plan for ${CONTROL_ID}`);
}

export const control = defineControl<BackupRetentionOptions, BackupPlanParams>({
  id: CONTROL_ID,
  title: "Backup plans keep data for the retention HIPAA requires",
  category: "backup",
  hipaa: {
    sections: [...CATEGORIES.backup.hipaa],
    why: "A deleted backup plan or one that keeps copies less than six years breaks the data backup plan of 164.308(a)(7)(ii)(A) and the six-year retention of 164.316(b)(2)(i).",
  },
  severity: "high",
  // A plan's rules belong to their owners: the engine proposes, a person decides.
  defaultMode: "approve",
  options: optionsSchema,
  triggers: [
    { source: BACKUP_SOURCE, name: "DeleteBackupPlan", resources: backupPlanRefsFromEvent },
    { source: BACKUP_SOURCE, name: "UpdateBackupPlan", resources: backupPlanRefsFromEvent },
    { source: BACKUP_SOURCE, name: "DeleteBackupVault", resources: backupVaultRefsFromEvent },
  ],
  permissions: {
    detect: [
      "backup:GetBackupPlan",
      "backup:ListBackupPlans",
      "backup:ListBackupSelections",
      "backup:GetBackupSelection",
      "backup:DescribeBackupVault",
      "s3:ListAllMyBuckets",
      "s3:GetBucketLocation",
      "s3:GetBucketTagging",
      "rds:DescribeDBInstances",
      "rds:ListTagsForResource",
      "dynamodb:ListTables",
      "dynamodb:ListTagsOfResource",
    ],
    apply: ["backup:GetBackupPlan", "backup:UpdateBackupPlan"],
    rollback: ["backup:UpdateBackupPlan"],
  },

  async detect(input, ctx: ControlContext<BackupRetentionOptions>) {
    const { resource, event } = input;
    if (!ctx.aws) return detectOffline(resource, event, ctx.options);
    const live: LiveContext<BackupRetentionOptions> = { ...ctx, aws: ctx.aws };
    if (resource.type === BACKUP_PLAN_TYPE) return detectPlan(resource, event, live);
    if (resource.type === BACKUP_VAULT_TYPE) return detectVault(resource, event, live);
    const kind = PROTECTED_KINDS.find((candidate) => candidate.type === resource.type);
    return kind ? detectUnprotected(resource, kind, live) : [];
  },

  plan(found, options): Plan<BackupPlanParams> {
    const base = { control: CONTROL_ID, resource: found.resource };
    const short = found.evidence.shortRules;
    if (found.resource.type === BACKUP_PLAN_TYPE && Array.isArray(short) && short.length > 0 && options.proposeRetentionFix) {
      return {
        ...base,
        summary: `Raise the retention of backup plan ${typeof found.evidence.planName === "string" ? found.evidence.planName : found.resource.id} to ${options.minimumRetentionDays} days.`,
        steps: [
          "Read the plan's rules and keep them for rollback.",
          `UpdateBackupPlan: every rule that deletes recovery points sooner than ${options.minimumRetentionDays} days deletes them after ${options.minimumRetentionDays} days; other rules and settings stay as they are.`,
          "Longer retention stores more recovery points, which costs more.",
        ],
        reversible: true,
        params: {
          kind: "raise-retention",
          planId: found.resource.id,
          region: found.resource.region,
          minimumRetentionDays: options.minimumRetentionDays,
        },
      };
    }
    const what = found.summary;
    return {
      ...base,
      summary: `Tell the owners: ${what}.`,
      steps: [
        found.evidence.deleted === true
          ? "Recreating a plan or vault needs its owners' settings (the event carries only its id), so the engine only reports it."
          : found.evidence.unprotected === true
            ? "Add the resource to a backup plan's selection (by ARN or by its PHI tag)."
            : "Raise the short rules, or set proposeRetentionFix to let the engine propose it.",
      ],
      reversible: false,
      notifyOnly: true,
      params: { kind: "notify", what },
    };
  },

  async apply(plan, ctx) {
    const params = readRaisePlan(plan);
    let current;
    try {
      current = await readBackupPlan(await ctx.aws.backup(params.region), params.planId);
    } catch (error) {
      if (isNotFound(error)) throw new ResourceGoneError(`backup plan ${params.planId} no longer exists`, { cause: error });
      throw error;
    }
    if (current.deletionDate !== null) throw new ResourceGoneError(`backup plan ${params.planId} was deleted on ${current.deletionDate}`);
    const before = { planId: params.planId, planName: current.planName, rules: JSON.parse(JSON.stringify(current.rules)) as JsonObject[] };
    const raised = raisedRules(current.rules, params.minimumRetentionDays);
    await updateRules(ctx, params.region, params.planId, current.planName, raised);
    return {
      before,
      after: { planId: params.planId, planName: current.planName, rules: JSON.parse(JSON.stringify(raised)) as JsonObject[] },
    };
  },

  async verify(plan, ctx) {
    const params = readRaisePlan(plan);
    const current = await readBackupPlan(await ctx.aws.backup(params.region), params.planId);
    const short = shortRules(retentionRulesOf(current.rules), params.minimumRetentionDays);
    return {
      ok: short.length === 0 && current.deletionDate === null,
      state: { planId: params.planId, rules: retentionRulesOf(current.rules) },
      ...(short.length > 0
        ? {
            detail: `backup plan ${current.planName} still keeps data less than ${params.minimumRetentionDays} days: ${describeRules(short)}`,
          }
        : {}),
    };
  },

  async rollback(plan, before, ctx) {
    const params = readRaisePlan(plan);
    const previous = parseControlData(capturedSchema, before, `state captured before ${CONTROL_ID} changed backup plan ${params.planId}`);
    if (previous.planId !== params.planId) {
      throw new InvalidControlDataError(`field planId: captured state is for plan ${previous.planId}, the plan is for ${params.planId}`);
    }
    const rules = (previous.rules as unknown as BackupRule[]).map(({ RuleId: _id, ...rule }) => rule);
    await updateRules(ctx, params.region, params.planId, previous.planName, rules);
  },

  async *sweep(ctx) {
    yield* backupPlans.list(ctx);
    if (!ctx.options.reportUnprotected) return;
    for (const kind of PROTECTED_KINDS) yield* kind.list(ctx);
  },
});
