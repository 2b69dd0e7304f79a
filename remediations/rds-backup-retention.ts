import { CATEGORIES } from "@hipaa-remediate/core";
import { z } from "zod";
import { numberOf } from "./lib/json-fields";
import {
  DATABASE_CHANGE_TRIGGERS,
  RDS_DESCRIBE_ACTIONS,
  RDS_DETECT_ACTIONS,
  RDS_MODIFY_ACTIONS,
  databaseSettingReaders,
  dbClusters,
  dbInstances,
  governedByCluster,
  isCreateEvent,
  isDbCluster,
  modifyDatabase,
  ownSetting,
  settingInEvent,
} from "./lib/rds";
import { defineSettingControl } from "./lib/setting-control";

/** RDS keeps automated backups for 1 to 35 days; 0 turns them off. */
const MAX_RETENTION_DAYS = 35;
/** What RDS keeps when CreateDBInstance or CreateDBCluster names no retention. */
const RDS_DEFAULT_RETENTION_DAYS = 1;

const optionsSchema = z
  .strictObject({
    /** Automated backups must be kept at least this many days. */
    minimumDays: z.number().int().min(1).max(MAX_RETENTION_DAYS).default(7),
  })
  .prefault({});

type RetentionOptions = z.output<typeof optionsSchema>;

/** Retention in days (0 = automated backups off); null for an Aurora member instance, whose cluster keeps them. */
const retention = z.number().int().min(0).max(MAX_RETENTION_DAYS).nullable();
type Retention = z.output<typeof retention>;

function describeRetention(days: Retention): string {
  if (days === null) return "backed up through its DB cluster";
  if (days === 0) return "without automated backups";
  return `kept in automated backups for ${days} day${days === 1 ? "" : "s"}`;
}

/**
 * Automated backup retention on every RDS instance and cluster. Backups are what point-in-time restore and the
 * data backup plan rest on: retention 0 turns them off and deletes the existing automated backups.
 */
export const control = defineSettingControl<RetentionOptions, Retention>({
  id: "rds-backup-retention",
  title: "RDS databases keep automated backups for the policy's minimum",
  category: "backup",
  hipaa: {
    sections: [...CATEGORIES.backup.hipaa],
    why: "Automated backups let a database holding ePHI be restored to any point in its retention window, the retrievable exact copy the data backup plan requires (164.308(a)(7)(ii)(A)).",
  },
  severity: "high",
  options: optionsSchema,
  triggers: DATABASE_CHANGE_TRIGGERS,
  permissions: {
    detect: RDS_DETECT_ACTIONS,
    apply: [...RDS_DESCRIBE_ACTIONS, ...RDS_MODIFY_ACTIONS],
    rollback: RDS_MODIFY_ACTIONS,
  },
  kind: [dbInstances, dbClusters],
  quietUnlessEventBreaksIt: true,
  setting: retention,
  ...databaseSettingReaders<Retention>({
    instance: (instance) => ownSetting(instance, (own) => own.BackupRetentionPeriod ?? 0),
    cluster: (cluster) => cluster.BackupRetentionPeriod ?? 0,
  }),
  async write(ref, days, ctx) {
    if (days === null) return;
    await modifyDatabase(ref, ctx, { BackupRetentionPeriod: days });
  },
  shortfall(days, options) {
    if (days === null || days >= options.minimumDays) return undefined;
    if (days === 0) return `has automated backups off (the policy requires ${options.minimumDays} days)`;
    return `keeps automated backups for ${days} day${days === 1 ? "" : "s"}, less than the policy's ${options.minimumDays}`;
  },
  required: (days, options) => Math.max(days ?? 0, options.minimumDays),
  describe: describeRetention,
  summarise: (ref, days) => `Keep automated backups of ${isDbCluster(ref) ? "DB cluster" : "DB instance"} ${ref.id} for ${days ?? 0} days.`,
  notes: () => [
    "Backups kept beyond the free allowance (storage equal to the database's size) are billed as backup storage.",
    "If automated backups were off (0 days), RDS turns them on with a brief outage while the instance restarts; a rollback to 0 does the same and deletes the automated backups taken since.",
  ],
  fromEvent(event, ref) {
    if (governedByCluster(event, ref)) return null;
    const stated = retention.safeParse(numberOf(settingInEvent(event, "backupRetentionPeriod")));
    if (stated.success && stated.data !== null) return stated.data;
    return isCreateEvent(event) ? RDS_DEFAULT_RETENTION_DAYS : undefined;
  },
});
