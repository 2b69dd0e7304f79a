import { CATEGORIES, type ControlContext, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { NotifyOnlyPlanError } from "./lib/errors";
import { booleanOf } from "./lib/json-fields";
import {
  DATABASE_CHANGE_TRIGGERS,
  RDS_DETECT_ACTIONS,
  databaseSettingReaders,
  dbClusters,
  dbInstances,
  governedByCluster,
  isCreateEvent,
  isDbCluster,
  modifyDbInstance,
  ownSetting,
  settingInEvent,
  tagsInEvent,
} from "./lib/rds";
import { defineSettingControl } from "./lib/setting-control";
import { findPhiMarker, findTag, type TagMap } from "./lib/tags";

const optionsSchema = z
  .strictObject({
    /** Tags that mark a production database: tag key to the values that mean production (compared case-insensitively). */
    productionTags: z
      .record(z.string().trim().min(1, "a tag key must not be empty"), z.array(z.string().trim().min(1)).min(1, "list at least one value"))
      .default({ Environment: ["prod", "production"] }),
  })
  .prefault({});

type MultiAzOptions = z.output<typeof optionsSchema>;

/** Multi-AZ on or off; null for an Aurora member instance, whose cluster spreads its instances instead. */
const multiAz = z.boolean().nullable();
type MultiAz = z.output<typeof multiAz>;

function isProduction(tags: TagMap, options: MultiAzOptions): boolean {
  return Object.entries(options.productionTags).some(([key, values]) => findTag(tags, [key], values) !== undefined);
}

/** Production and PHI databases only: Multi-AZ doubles the cost, which a scratch database does not warrant. */
function covers(tags: TagMap, ctx: ControlContext<MultiAzOptions>): boolean {
  return findPhiMarker(tags, ctx.tags) !== undefined || isProduction(tags, ctx.options);
}

const CLUSTER_REPORT_ONLY =
  "Aurora keeps a cluster's data in three Availability Zones, but the database stays available through a zone failure only with a reader instance in a second zone: add one (CreateDBInstance with DBClusterIdentifier and another AvailabilityZone). The engine does not create instances, since each one is billed.";

/**
 * Multi-AZ for production and PHI databases. A single-AZ instance is down for as long as its zone or host is,
 * and comes back from the last backup at best; with Multi-AZ, RDS fails over to a synchronous standby in minutes.
 * Clusters are reported only: Aurora needs another instance, which the engine does not create.
 */
export const control = defineSettingControl<MultiAzOptions, MultiAz>({
  id: "rds-multi-az",
  title: "Production and PHI databases run Multi-AZ",
  category: "availability",
  hipaa: {
    sections: [...CATEGORIES.availability.hipaa],
    why: "A Multi-AZ database fails over to a standby in another Availability Zone, so ePHI stays available through a zone or host failure, as the contingency plan's emergency mode requires (164.308(a)(7)(ii)(C)).",
  },
  severity: "medium",
  defaultMode: "approve",
  options: optionsSchema,
  triggers: DATABASE_CHANGE_TRIGGERS,
  permissions: {
    detect: RDS_DETECT_ACTIONS,
    apply: ["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
    rollback: ["rds:ModifyDBInstance"],
  },
  kind: [dbInstances, dbClusters],
  quietUnlessEventBreaksIt: true,
  setting: multiAz,
  ...databaseSettingReaders({
    instance: (instance) => ownSetting(instance, (own) => own.MultiAZ === true),
    cluster: (cluster) => cluster.MultiAZ === true,
  }),
  async write(ref, enabled, ctx) {
    if (enabled === null) return;
    if (isDbCluster(ref)) throw new NotifyOnlyPlanError(`rds-multi-az does not change DB cluster ${ref.id}: ${CLUSTER_REPORT_ONLY}`);
    await modifyDbInstance(ref, ctx, { MultiAZ: enabled });
  },
  shortfall: (enabled) => (enabled === false ? "runs in a single Availability Zone" : undefined),
  required: () => true,
  describe: (enabled) => (enabled === null ? "spread by its DB cluster" : enabled ? "Multi-AZ" : "single-AZ"),
  summarise: (ref) => `Turn on Multi-AZ for DB instance ${ref.id}.`,
  notes: (ref: ResourceRef) =>
    isDbCluster(ref)
      ? []
      : [
          "Cost: Multi-AZ keeps a standby instance and its storage in a second Availability Zone, which roughly doubles the instance's cost.",
          "RDS creates the standby online from a snapshot; writes may be slower while it catches up. Rollback removes the standby.",
        ],
  notifyOnly: (ref) => (isDbCluster(ref) ? CLUSTER_REPORT_ONLY : undefined),
  covers: ({ tags, live, event }, ctx) => covers(live || !event ? tags : tagsInEvent(event), ctx),
  fromEvent(event, ref) {
    if (governedByCluster(event, ref)) return null;
    const stated = booleanOf(settingInEvent(event, "multiAZ"));
    if (stated !== undefined) return stated;
    return isCreateEvent(event) ? false : undefined;
  },
});
