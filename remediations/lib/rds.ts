import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ListTagsForResourceCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  paginateDescribeDBClusters,
  paginateDescribeDBInstances,
  type DBCluster,
  type DBInstance,
  type ModifyDBInstanceMessage,
  type RDSClient,
  type Tag,
} from "@aws-sdk/client-rds";
import type { ChangeEvent, JsonValue, LiveContext, ResourceRef, Trigger } from "@hipaa-remediate/core";
import { resolveAccount } from "./account";
import { objectAt, stringsOf } from "./json-fields";
import { defineResourceKind, type ResourceKind } from "./resource-kind";
import { tagMap, tagsFromList, type TagMap } from "./tags";

/**
 * RDS databases as the controls see them: DB instances and DB clusters, their ARNs, the identifiers in their
 * CloudTrail records, and one shared, cached description per database. Every RDS control reads through
 * `describedInstance` / `describedCluster` during detection, so a sweep describes each database once per run
 * (the listing seeds the cache) and an event's controls share one DescribeDBInstances call.
 */

export const RDS_SOURCE = "rds.amazonaws.com";
export const DB_INSTANCE_TYPE = "AWS::RDS::DBInstance";
export const DB_CLUSTER_TYPE = "AWS::RDS::DBCluster";

export function dbInstanceArn(identifier: string, account: string, region: string): string {
  return `arn:aws:rds:${region}:${account}:db:${identifier}`;
}

export function dbClusterArn(identifier: string, account: string, region: string): string {
  return `arn:aws:rds:${region}:${account}:cluster:${identifier}`;
}

export function dbInstanceRef(identifier: string, account: string, region: string): ResourceRef {
  return { type: DB_INSTANCE_TYPE, id: identifier, arn: dbInstanceArn(identifier, account, region), account, region };
}

export function dbClusterRef(identifier: string, account: string, region: string): ResourceRef {
  return { type: DB_CLUSTER_TYPE, id: identifier, arn: dbClusterArn(identifier, account, region), account, region };
}

export function isDbCluster(ref: ResourceRef): boolean {
  return ref.type === DB_CLUSTER_TYPE;
}

/**
 * The identifiers a record names in `field` of its request, or of its response, which echoes them. RDS stores
 * identifiers in lower case whatever the caller typed, so "MyDb" and "mydb" are one database. A rename
 * (`newDBInstanceIdentifier`) is not followed: detection then finds the old name gone and says so.
 */
function identifiersIn(event: ChangeEvent, field: string): string[] {
  const names = [...stringsOf(event.request?.[field]), ...stringsOf(event.response?.[field])];
  return [...new Set(names.map((name) => name.toLowerCase()))];
}

/** The DB instance a CreateDBInstance or ModifyDBInstance record names. */
export function dbInstanceRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  return identifiersIn(event, "dBInstanceIdentifier").map((id) => dbInstanceRef(id, event.account, event.region));
}

/** The DB cluster a CreateDBCluster or ModifyDBCluster record names. */
export function dbClusterRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  return identifiersIn(event, "dBClusterIdentifier").map((id) => dbClusterRef(id, event.account, event.region));
}

/** The four calls that create or change a database's settings, as triggers. */
export const DATABASE_CHANGE_TRIGGERS: readonly Trigger[] = [
  { source: RDS_SOURCE, name: "CreateDBInstance", resources: dbInstanceRefsFromEvent },
  { source: RDS_SOURCE, name: "ModifyDBInstance", resources: dbInstanceRefsFromEvent },
  { source: RDS_SOURCE, name: "CreateDBCluster", resources: dbClusterRefsFromEvent },
  { source: RDS_SOURCE, name: "ModifyDBCluster", resources: dbClusterRefsFromEvent },
];

export function isCreateEvent(event: ChangeEvent): boolean {
  return event.name === "CreateDBInstance" || event.name === "CreateDBCluster";
}

/**
 * What a record says a database setting became: the request's value (what the caller asked for), else the
 * response's pending value, else the response's current value. Undefined when the record does not say.
 */
export function settingInEvent(event: ChangeEvent, field: string): JsonValue | undefined {
  const requested = event.request?.[field];
  if (requested !== undefined && requested !== null) return requested;
  const pending = objectAt(event.response, "pendingModifiedValues")?.[field];
  if (pending !== undefined && pending !== null) return pending;
  const reported = event.response?.[field];
  return reported === null ? undefined : reported;
}

/**
 * The cluster an instance record places the instance in (Aurora members), from the request or the response.
 * Such instances take deletion protection, backups, Multi-AZ and encryption from their cluster.
 */
export function clusterInEvent(event: ChangeEvent): string | undefined {
  return identifiersIn(event, "dBClusterIdentifier")[0];
}

/** True for an instance record that places the instance in a cluster, which then holds the setting for it. */
export function governedByCluster(event: ChangeEvent, ref: ResourceRef): boolean {
  return !isDbCluster(ref) && clusterInEvent(event) !== undefined;
}

/** An instance's own setting, or null for an Aurora member, whose cluster holds it. */
export function ownSetting<S>(instance: DBInstance, pick: (instance: DBInstance) => S): S | null {
  return instance.DBClusterIdentifier ? null : pick(instance);
}

/** The tags a record carries: `requestParameters.tags` of a creation, or the response's `tagList`. */
export function tagsInEvent(event: ChangeEvent): TagMap {
  return { ...tagsFromList(event.response?.tagList), ...tagsFromList(event.request?.tags) };
}

/** DescribeDBInstances for one instance, afresh. Throws DBInstanceNotFound when it is gone. */
export async function readDbInstance(ref: ResourceRef, ctx: LiveContext): Promise<DBInstance> {
  const rds = await ctx.aws.rds(ref.region);
  const response = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: ref.id }));
  const [instance] = response.DBInstances ?? [];
  if (!instance) throw new DatabaseNotDescribedError(`DescribeDBInstances returned nothing for DB instance ${ref.id}`);
  return instance;
}

/** DescribeDBClusters for one cluster, afresh. Throws DBClusterNotFoundFault when it is gone. */
export async function readDbCluster(ref: ResourceRef, ctx: LiveContext): Promise<DBCluster> {
  const rds = await ctx.aws.rds(ref.region);
  const response = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: ref.id }));
  const [cluster] = response.DBClusters ?? [];
  if (!cluster) throw new DatabaseNotDescribedError(`DescribeDBClusters returned nothing for DB cluster ${ref.id}`);
  return cluster;
}

/** DescribeDB* answered without the database it was asked for; `Code` makes `isNotFound` treat it as gone. */
export class DatabaseNotDescribedError extends Error {
  readonly Code = "NotFound";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DatabaseNotDescribedError";
  }
}

const describedKey = (arn: string) => `rds:described:${arn}`;

/** The instance's description for detection, shared by every RDS control in this unit of work. */
export function describedInstance(ref: ResourceRef, ctx: LiveContext): Promise<DBInstance> {
  return ctx.reads.read(describedKey(ref.arn), () => readDbInstance(ref, ctx));
}

/** The cluster's description for detection, shared by every RDS control in this unit of work. */
export function describedCluster(ref: ResourceRef, ctx: LiveContext): Promise<DBCluster> {
  return ctx.reads.read(describedKey(ref.arn), () => readDbCluster(ref, ctx));
}

/** Puts a description a listing already holds into the shared reads, so detection does not describe it again. */
function remember<T>(ctx: LiveContext, arn: string, description: T): void {
  void ctx.reads.read(describedKey(arn), async () => description);
}

async function tagsOf(rds: RDSClient, arn: string, listed: Tag[] | undefined): Promise<TagMap> {
  if (listed) return tagMap(listed);
  const response = await rds.send(new ListTagsForResourceCommand({ ResourceName: arn }));
  return tagMap(response.TagList);
}

/** Every database one Describe call pages through in the sweep's regions, each remembered for detection. */
async function* listDatabases<D>(
  ctx: LiveContext,
  pages: (rds: RDSClient) => AsyncIterable<D[] | undefined>,
  identify: (database: D) => string | undefined,
  refOf: (id: string, account: string, region: string) => ResourceRef,
): AsyncGenerator<ResourceRef> {
  const account = await resolveAccount(ctx);
  for (const region of ctx.regions) {
    const rds = await ctx.aws.rds(region);
    for await (const page of pages(rds)) {
      for (const database of page ?? []) {
        const id = identify(database);
        if (!id) continue;
        const ref = refOf(id, account, region);
        remember(ctx, ref.arn, database);
        yield ref;
      }
    }
  }
}

async function* instancePages(rds: RDSClient): AsyncGenerator<DBInstance[] | undefined> {
  for await (const page of paginateDescribeDBInstances({ client: rds }, {})) yield page.DBInstances;
}

async function* clusterPages(rds: RDSClient): AsyncGenerator<DBCluster[] | undefined> {
  for await (const page of paginateDescribeDBClusters({ client: rds }, {})) yield page.DBClusters;
}

/** RDS DB instances: described once per sweep run, tags taken from the description's TagList. */
export const dbInstances: ResourceKind = defineResourceKind({
  type: DB_INSTANCE_TYPE,
  noun: "DB instance",
  list: (ctx) => listDatabases(ctx, instancePages, (instance) => instance.DBInstanceIdentifier, dbInstanceRef),
  tags: async (ref, ctx) => tagsOf(await ctx.aws.rds(ref.region), ref.arn, (await describedInstance(ref, ctx)).TagList),
});

/** RDS DB clusters (Aurora and Multi-AZ DB clusters): described once per sweep run, like instances. */
export const dbClusters: ResourceKind = defineResourceKind({
  type: DB_CLUSTER_TYPE,
  noun: "DB cluster",
  list: (ctx) => listDatabases(ctx, clusterPages, (cluster) => cluster.DBClusterIdentifier, dbClusterRef),
  tags: async (ref, ctx) => tagsOf(await ctx.aws.rds(ref.region), ref.arn, (await describedCluster(ref, ctx)).TagList),
});

/** IAM actions to describe both kinds. */
export const RDS_DESCRIBE_ACTIONS = ["rds:DescribeDBInstances", "rds:DescribeDBClusters"];

/** IAM actions every RDS control needs to detect: describe both kinds and read tags when a description lacks them. */
export const RDS_DETECT_ACTIONS = [...RDS_DESCRIBE_ACTIONS, "rds:ListTagsForResource"];

/** Settings ModifyDBInstance and ModifyDBCluster both take under the same name. */
export type DatabaseModification = Pick<ModifyDBInstanceMessage, "DeletionProtection" | "BackupRetentionPeriod">;

/** Changes one instance's settings at once (not at the next maintenance window): a fix must take effect now. */
export async function modifyDbInstance(
  ref: ResourceRef,
  ctx: LiveContext,
  changes: Omit<ModifyDBInstanceMessage, "DBInstanceIdentifier" | "ApplyImmediately">,
): Promise<void> {
  const rds = await ctx.aws.rds(ref.region);
  await rds.send(new ModifyDBInstanceCommand({ ...changes, DBInstanceIdentifier: ref.id, ApplyImmediately: true }));
}

/** Changes an instance's or a cluster's settings at once, whichever `ref` is. */
export async function modifyDatabase(ref: ResourceRef, ctx: LiveContext, changes: DatabaseModification): Promise<void> {
  if (!isDbCluster(ref)) return modifyDbInstance(ref, ctx, changes);
  const rds = await ctx.aws.rds(ref.region);
  await rds.send(new ModifyDBClusterCommand({ ...changes, DBClusterIdentifier: ref.id, ApplyImmediately: true }));
}

/** How a control reads its setting out of an instance's or a cluster's description. */
export interface DatabaseSettingPick<S> {
  instance(instance: DBInstance): S;
  cluster(cluster: DBCluster): S;
}

/**
 * A setting control's `read` (afresh, for apply and verify) and `readShared` (through the description every RDS
 * control shares, for detection), from one pick function per kind.
 */
export function databaseSettingReaders<S>(pick: DatabaseSettingPick<S>) {
  return {
    // Generic in the options so that a control's options type is inferred from its schema, not from these.
    async read<O>(ref: ResourceRef, ctx: LiveContext<O>): Promise<S> {
      return isDbCluster(ref) ? pick.cluster(await readDbCluster(ref, ctx)) : pick.instance(await readDbInstance(ref, ctx));
    },
    async readShared<O>(ref: ResourceRef, ctx: LiveContext<O>): Promise<S> {
      return isDbCluster(ref) ? pick.cluster(await describedCluster(ref, ctx)) : pick.instance(await describedInstance(ref, ctx));
    },
  };
}

/** IAM actions to change either kind. */
export const RDS_MODIFY_ACTIONS = ["rds:ModifyDBInstance", "rds:ModifyDBCluster"];
