import { CATEGORIES } from "@hipaa-remediate/core";
import { z } from "zod";
import { booleanOf } from "./lib/json-fields";
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

/** Deletion protection on or off; null for an Aurora member instance, which takes it from its cluster. */
const protection = z.boolean().nullable();
type Protection = z.output<typeof protection>;

/**
 * Deletion protection on every RDS instance and cluster. Without it a single DeleteDBInstance call (a mistake, a
 * script, a stolen key) destroys the database that holds ePHI, and with it the availability the contingency plan
 * relies on. RDS creates databases without it unless asked, so creation is a trigger too.
 */
export const control = defineSettingControl({
  id: "rds-deletion-protection",
  title: "RDS databases keep deletion protection on",
  category: "availability",
  hipaa: {
    sections: [...CATEGORIES.availability.hipaa],
    why: "Deletion protection stops a database holding ePHI from being deleted by one call, keeping the data available as the contingency plan requires (164.308(a)(7)).",
  },
  severity: "medium",
  options: z.strictObject({}).prefault({}),
  triggers: DATABASE_CHANGE_TRIGGERS,
  permissions: {
    detect: RDS_DETECT_ACTIONS,
    apply: [...RDS_DESCRIBE_ACTIONS, ...RDS_MODIFY_ACTIONS],
    rollback: RDS_MODIFY_ACTIONS,
  },
  kind: [dbInstances, dbClusters],
  quietUnlessEventBreaksIt: true,
  setting: protection,
  ...databaseSettingReaders<Protection>({
    instance: (instance) => ownSetting(instance, (own) => own.DeletionProtection === true),
    cluster: (cluster) => cluster.DeletionProtection === true,
  }),
  async write(ref, enabled, ctx) {
    // An Aurora member has no protection of its own to write; its cluster is a resource of this control too.
    if (enabled === null) return;
    await modifyDatabase(ref, ctx, { DeletionProtection: enabled });
  },
  shortfall: (enabled) => (enabled === false ? "has deletion protection off" : undefined),
  required: () => true,
  describe: (enabled) =>
    enabled === null ? "protected through its DB cluster" : enabled ? "protected from deletion" : "not protected from deletion",
  summarise: (ref) => `Turn deletion protection back on for ${isDbCluster(ref) ? "DB cluster" : "DB instance"} ${ref.id}.`,
  notes: () => ["Deletion protection changes nothing else: the database keeps serving while it is turned on."],
  fromEvent(event, ref) {
    if (governedByCluster(event, ref)) return null;
    const stated = booleanOf(settingInEvent(event, "deletionProtection"));
    if (stated !== undefined) return stated;
    // RDS creates a database without deletion protection unless the request asks for it.
    return isCreateEvent(event) ? false : undefined;
  },
});
