import type { DBCluster } from "@aws-sdk/client-rds";
import { CATEGORIES, type ChangeEvent, type LiveContext, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { booleanOf, objectsOf, stringOf } from "./lib/json-fields";
import {
  RDS_DETECT_ACTIONS,
  RDS_SOURCE,
  dbClusterRefsFromEvent,
  dbClusters,
  dbInstanceRef,
  dbInstanceRefsFromEvent,
  dbInstances,
  describedCluster,
  describedInstance,
  isDbCluster,
  modifyDbInstance,
  readDbCluster,
  readDbInstance,
  settingInEvent,
} from "./lib/rds";
import { defineSettingControl } from "./lib/setting-control";

/**
 * Whether each DB instance has a public endpoint, by instance identifier: one entry for a DB instance, one per
 * member for a cluster (Aurora sets public access per instance, and ModifyDBCluster cannot change it).
 */
const exposure = z.record(z.string().min(1), z.boolean());
type Exposure = z.output<typeof exposure>;

function publicOnes(value: Exposure): string[] {
  return Object.entries(value)
    .filter(([, open]) => open)
    .map(([id]) => id)
    .sort();
}

function membersOf(cluster: DBCluster): string[] {
  return (cluster.DBClusterMembers ?? []).flatMap((member) => (member.DBInstanceIdentifier ? [member.DBInstanceIdentifier] : []));
}

/** `PubliclyAccessible` reads null when it was never set: only an explicit true is a public endpoint. */
async function exposureOf(
  ref: ResourceRef,
  describeInstance: (instance: ResourceRef) => Promise<{ PubliclyAccessible?: boolean | undefined }>,
  describeCluster: (cluster: ResourceRef) => Promise<DBCluster>,
): Promise<Exposure> {
  const instanceIds = isDbCluster(ref) ? membersOf(await describeCluster(ref)) : [ref.id];
  const entries = await Promise.all(
    instanceIds.map(async (id) => {
      const instance = await describeInstance(dbInstanceRef(id, ref.account, ref.region));
      return [id, instance.PubliclyAccessible === true] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** What a record says about public access: the instance itself, or each member a cluster record lists. */
function exposureInEvent(event: ChangeEvent, ref: ResourceRef): Exposure | undefined {
  const open = booleanOf(settingInEvent(event, "publiclyAccessible"));
  if (open === undefined) return undefined;
  if (!isDbCluster(ref)) return { [ref.id]: open };
  const members = objectsOf(event.response?.dBClusterMembers).flatMap((member) => {
    const id = stringOf(member.dBInstanceIdentifier);
    return id ? [id.toLowerCase()] : [];
  });
  // A cluster record without its members still tells that the cluster was opened: name the cluster itself.
  const ids = members.length > 0 ? members : [ref.id];
  return Object.fromEntries(ids.map((id) => [id, open]));
}

/** Sets each listed instance's public access; for a cluster, only instances that are still its members. */
async function writeExposure(ref: ResourceRef, value: Exposure, ctx: LiveContext): Promise<void> {
  const members = isDbCluster(ref) ? new Set(membersOf(await readDbCluster(ref, ctx))) : new Set([ref.id]);
  for (const [id, open] of Object.entries(value)) {
    if (!members.has(id)) continue;
    await modifyDbInstance(dbInstanceRef(id, ref.account, ref.region), ctx, { PubliclyAccessible: open });
  }
}

/**
 * No public endpoint on RDS databases. A publicly accessible instance resolves to a public address, so its
 * security groups are the only thing between the internet and the database holding ePHI.
 */
export const control = defineSettingControl({
  id: "rds-instance-public",
  title: "RDS databases have no public endpoint",
  category: "public-exposure",
  hipaa: {
    sections: [...CATEGORIES["public-exposure"].hipaa],
    why: "A database without a public endpoint can only be reached from inside its VPC, which keeps ePHI away from the internet as access control requires (164.312(a)(1), 164.312(e)(1)).",
  },
  severity: "critical",
  defaultMode: "approve",
  options: z.strictObject({}).prefault({}),
  triggers: [
    { source: RDS_SOURCE, name: "CreateDBInstance", resources: dbInstanceRefsFromEvent },
    { source: RDS_SOURCE, name: "ModifyDBInstance", resources: dbInstanceRefsFromEvent },
    { source: RDS_SOURCE, name: "ModifyDBCluster", resources: dbClusterRefsFromEvent },
  ],
  permissions: {
    detect: RDS_DETECT_ACTIONS,
    apply: ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:ModifyDBInstance"],
    rollback: ["rds:DescribeDBClusters", "rds:ModifyDBInstance"],
  },
  kind: [dbInstances, dbClusters],
  quietUnlessEventBreaksIt: true,
  setting: exposure,
  read: (ref, ctx) =>
    exposureOf(
      ref,
      (instance) => readDbInstance(instance, ctx),
      (cluster) => readDbCluster(cluster, ctx),
    ),
  readShared: (ref, ctx) =>
    exposureOf(
      ref,
      (instance) => describedInstance(instance, ctx),
      (cluster) => describedCluster(cluster, ctx),
    ),
  write: writeExposure,
  shortfall(value, _options, ref) {
    const open = publicOnes(value);
    if (open.length === 0) return undefined;
    return isDbCluster(ref) ? `has publicly accessible instances: ${open.join(", ")}` : "is publicly accessible";
  },
  required: (value) => Object.fromEntries(Object.keys(value).map((id) => [id, false])),
  describe(value) {
    const open = publicOnes(value);
    return open.length === 0 ? "not publicly accessible" : `publicly accessible (${open.join(", ")})`;
  },
  summarise: (ref) =>
    isDbCluster(ref)
      ? `Remove the public endpoint of every instance of DB cluster ${ref.id}.`
      : `Remove the public endpoint of DB instance ${ref.id}.`,
  notes: () => [
    "Who loses access: clients outside the VPC (the internet, offices and other networks without a VPN, Direct Connect or peering into it) lose the public endpoint, as the endpoint's DNS name resolves to a private address from then on.",
    "Applications inside the VPC, or connected to it privately, keep their access; security groups are not changed.",
    "Rollback turns public access back on for the same instances.",
  ],
  fromEvent: exposureInEvent,
});
