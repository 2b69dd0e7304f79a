import {
  CreateDBClusterCommand,
  CreateDBInstanceCommand,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  type DBCluster,
  type DBInstance,
  type ModifyDBClusterMessage,
  type ModifyDBInstanceMessage,
} from "@aws-sdk/client-rds";
import type { ChangeEvent, ResourceRef } from "@hipaa-remediate/core";
import { dbClusterRef, dbInstanceRef } from "../../remediations/lib/rds";
import { cloudTrailRecord } from "./cloudtrail";
import { changeEventOf } from "./control-harness";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "./moto";

/** RDS databases in moto for control tests and scenarios, and the CloudTrail records their changes produce. */

export interface DatabaseOptions {
  tags?: Record<string, string>;
  deletionProtection?: boolean;
  backupRetentionPeriod?: number;
  multiAZ?: boolean;
  publiclyAccessible?: boolean;
  storageEncrypted?: boolean;
}

/**
 * A database that meets every RDS control. Scenarios start from it and break one setting, so the event of one
 * control's scenario does not also raise its sibling controls' findings (they share the triggers).
 */
export const COMPLIANT_DATABASE = {
  deletionProtection: true,
  backupRetentionPeriod: 7,
  multiAZ: true,
  publiclyAccessible: false,
  storageEncrypted: true,
} as const satisfies DatabaseOptions;

function tagList(tags: Record<string, string> = {}) {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export async function createDbInstance(moto: Moto, id: string, options: DatabaseOptions = {}, region = MOTO_REGION): Promise<ResourceRef> {
  const rds = await moto.clients.rds(region);
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      DBInstanceClass: "db.t3.micro",
      Engine: "postgres",
      MasterUsername: "app",
      MasterUserPassword: "not-a-real-password",
      AllocatedStorage: 20,
      Tags: tagList(options.tags),
      ...(options.deletionProtection !== undefined ? { DeletionProtection: options.deletionProtection } : {}),
      ...(options.backupRetentionPeriod !== undefined ? { BackupRetentionPeriod: options.backupRetentionPeriod } : {}),
      ...(options.multiAZ !== undefined ? { MultiAZ: options.multiAZ } : {}),
      ...(options.publiclyAccessible !== undefined ? { PubliclyAccessible: options.publiclyAccessible } : {}),
      ...(options.storageEncrypted !== undefined ? { StorageEncrypted: options.storageEncrypted } : {}),
    }),
  );
  return dbInstanceRef(id.toLowerCase(), MOTO_ACCOUNT, region);
}

/** An Aurora PostgreSQL cluster, optionally with member instances. */
export async function createDbCluster(
  moto: Moto,
  id: string,
  options: DatabaseOptions & { members?: string[] } = {},
  region = MOTO_REGION,
): Promise<ResourceRef> {
  const rds = await moto.clients.rds(region);
  await rds.send(
    new CreateDBClusterCommand({
      DBClusterIdentifier: id,
      Engine: "aurora-postgresql",
      MasterUsername: "app",
      MasterUserPassword: "not-a-real-password",
      Tags: tagList(options.tags),
      ...(options.deletionProtection !== undefined ? { DeletionProtection: options.deletionProtection } : {}),
      ...(options.backupRetentionPeriod !== undefined ? { BackupRetentionPeriod: options.backupRetentionPeriod } : {}),
      ...(options.storageEncrypted !== undefined ? { StorageEncrypted: options.storageEncrypted } : {}),
    }),
  );
  for (const member of options.members ?? []) {
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: member,
        DBInstanceClass: "db.r5.large",
        Engine: "aurora-postgresql",
        DBClusterIdentifier: id,
        ...(options.publiclyAccessible !== undefined ? { PubliclyAccessible: options.publiclyAccessible } : {}),
      }),
    );
  }
  return dbClusterRef(id.toLowerCase(), MOTO_ACCOUNT, region);
}

export async function describeInstance(moto: Moto, ref: ResourceRef): Promise<DBInstance> {
  const rds = await moto.clients.rds(ref.region);
  const response = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: ref.id }));
  const [instance] = response.DBInstances ?? [];
  if (!instance) throw new Error(`moto describes no DB instance ${ref.id}`);
  return instance;
}

export async function describeCluster(moto: Moto, ref: ResourceRef): Promise<DBCluster> {
  const rds = await moto.clients.rds(ref.region);
  const response = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: ref.id }));
  const [cluster] = response.DBClusters ?? [];
  if (!cluster) throw new Error(`moto describes no DB cluster ${ref.id}`);
  return cluster;
}

export async function modifyInstance(
  moto: Moto,
  ref: ResourceRef,
  changes: Omit<ModifyDBInstanceMessage, "DBInstanceIdentifier" | "ApplyImmediately">,
): Promise<void> {
  const rds = await moto.clients.rds(ref.region);
  await rds.send(new ModifyDBInstanceCommand({ ...changes, DBInstanceIdentifier: ref.id, ApplyImmediately: true }));
}

export async function modifyCluster(
  moto: Moto,
  ref: ResourceRef,
  changes: Omit<ModifyDBClusterMessage, "DBClusterIdentifier" | "ApplyImmediately">,
): Promise<void> {
  const rds = await moto.clients.rds(ref.region);
  await rds.send(new ModifyDBClusterCommand({ ...changes, DBClusterIdentifier: ref.id, ApplyImmediately: true }));
}

/** Deletes an instance; deletion protection is turned off first, since RDS refuses to delete it otherwise. */
export async function deleteInstance(moto: Moto, ref: ResourceRef): Promise<void> {
  await modifyInstance(moto, ref, { DeletionProtection: false });
  const rds = await moto.clients.rds(ref.region);
  await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: ref.id, SkipFinalSnapshot: true }));
}

export async function deleteCluster(moto: Moto, ref: ResourceRef): Promise<void> {
  await modifyCluster(moto, ref, { DeletionProtection: false });
  const rds = await moto.clients.rds(ref.region);
  await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: ref.id, SkipFinalSnapshot: true }));
}

/** A CloudTrail record of an RDS call, in the shape CloudTrail gives it (camel-cased request and response). */
export function rdsRecord(
  eventName: string,
  request: Record<string, unknown> | null,
  response: Record<string, unknown> | null = null,
  region = MOTO_REGION,
): Record<string, unknown> {
  return cloudTrailRecord({
    eventSource: "rds.amazonaws.com",
    eventName,
    awsRegion: region,
    requestParameters: request,
    responseElements: response,
  });
}

export function rdsEvent(
  eventName: string,
  request: Record<string, unknown> | null,
  response: Record<string, unknown> | null = null,
  region = MOTO_REGION,
): ChangeEvent {
  return changeEventOf(rdsRecord(eventName, request, response, region));
}
