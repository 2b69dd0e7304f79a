import {
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  ModifySnapshotAttributeCommand,
  paginateDescribeSnapshots,
} from "@aws-sdk/client-ec2";
import {
  DescribeDBClusterSnapshotAttributesCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBSnapshotAttributesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBClusterSnapshotAttributeCommand,
  ModifyDBSnapshotAttributeCommand,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBSnapshots,
  type DBClusterSnapshotAttribute,
  type DBSnapshotAttribute,
} from "@aws-sdk/client-rds";
import type { ChangeEvent, LiveContext, ResourceRef } from "@hipaa-remediate/core";
import { resolveAccount } from "./account";
import { objectAt, objectsOf, stringOf, stringsOf } from "./json-fields";
import { RDS_SOURCE } from "./rds";
import { defineResourceKind, type ResourceKind } from "./resource-kind";
import { tagMap } from "./tags";

/**
 * Snapshots the account owns (EBS snapshots, RDS DB snapshots, RDS DB cluster snapshots): their refs, listings,
 * tags, and who may restore them. "Public" is the same idea in both services under different names: the group
 * "all" in an EBS snapshot's createVolumePermission, the value "all" in an RDS snapshot's "restore" attribute.
 */

export const EBS_SNAPSHOT_TYPE = "AWS::EC2::Snapshot";
export const DB_SNAPSHOT_TYPE = "AWS::RDS::DBSnapshot";
export const DB_CLUSTER_SNAPSHOT_TYPE = "AWS::RDS::DBClusterSnapshot";
export const EC2_SOURCE = "ec2.amazonaws.com";
export { RDS_SOURCE };

/** The group (EBS) or attribute value (RDS) that means "every AWS account". */
export const PUBLIC_GROUP = "all";
const RDS_RESTORE_ATTRIBUTE = "restore";
const EBS_PERMISSION_ATTRIBUTE = "createVolumePermission";

export function ebsSnapshotRef(snapshotId: string, account: string, region: string): ResourceRef {
  // EBS snapshot ARNs carry no account.
  return { type: EBS_SNAPSHOT_TYPE, id: snapshotId, arn: `arn:aws:ec2:${region}::snapshot/${snapshotId}`, account, region };
}

export function dbSnapshotRef(identifier: string, account: string, region: string): ResourceRef {
  return { type: DB_SNAPSHOT_TYPE, id: identifier, arn: `arn:aws:rds:${region}:${account}:snapshot:${identifier}`, account, region };
}

export function dbClusterSnapshotRef(identifier: string, account: string, region: string): ResourceRef {
  return {
    type: DB_CLUSTER_SNAPSHOT_TYPE,
    id: identifier,
    arn: `arn:aws:rds:${region}:${account}:cluster-snapshot:${identifier}`,
    account,
    region,
  };
}

/** RDS accepts an identifier or an ARN, and stores identifiers in lower case. */
function rdsIdentifier(value: string): string {
  const name = value.startsWith("arn:") ? (value.split(":").at(-1) ?? value) : value;
  return name.toLowerCase();
}

/** The snapshot a ModifySnapshotAttribute, ModifyDBSnapshotAttribute or ModifyDBClusterSnapshotAttribute record names. */
export function snapshotRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  const { request, response, account, region } = event;
  switch (event.name) {
    case "ModifySnapshotAttribute":
      return stringsOf(request?.snapshotId).map((id) => ebsSnapshotRef(id, account, region));
    case "ModifyDBSnapshotAttribute": {
      const ids = [...stringsOf(request?.dBSnapshotIdentifier), ...stringsOf(response?.dBSnapshotIdentifier)].map(rdsIdentifier);
      return [...new Set(ids)].map((id) => dbSnapshotRef(id, account, region));
    }
    case "ModifyDBClusterSnapshotAttribute": {
      const ids = [...stringsOf(request?.dBClusterSnapshotIdentifier), ...stringsOf(response?.dBClusterSnapshotIdentifier)].map(
        rdsIdentifier,
      );
      return [...new Set(ids)].map((id) => dbClusterSnapshotRef(id, account, region));
    }
    default:
      return [];
  }
}

/** Who may restore a snapshot: everyone, and the accounts it is shared with by name. */
export type SnapshotSharing = { public: boolean; accounts: string[] };

function sharingOf(values: readonly string[]): SnapshotSharing {
  return { public: values.includes(PUBLIC_GROUP), accounts: [...new Set(values.filter((v) => v !== PUBLIC_GROUP))].sort() };
}

/**
 * What the record alone proves about the snapshot's sharing, or undefined when it proves nothing. RDS responses
 * list the whole attribute after the change, which is proof either way; an EBS record only shows what was added,
 * so it proves "public" when it adds the group "all" and nothing otherwise.
 */
export function sharingFromEvent(event: ChangeEvent): SnapshotSharing | undefined {
  const { request, response } = event;
  if (event.name === "ModifySnapshotAttribute") {
    const attribute = stringOf(request?.attributeType);
    if (attribute !== undefined && attribute.toUpperCase() !== "CREATE_VOLUME_PERMISSION") return undefined;
    const added = objectsOf(objectAt(request, "createVolumePermission", "add")?.items);
    const groups = added.flatMap((item) => stringsOf(item.group));
    if (!groups.includes(PUBLIC_GROUP)) return undefined;
    return { public: true, accounts: [...new Set(added.flatMap((item) => stringsOf(item.userId)))].sort() };
  }
  const attributesField = event.name === "ModifyDBClusterSnapshotAttribute" ? "dBClusterSnapshotAttributes" : "dBSnapshotAttributes";
  const restore = objectsOf(response?.[attributesField]).find((a) => stringOf(a.attributeName) === RDS_RESTORE_ATTRIBUTE);
  if (restore) return sharingOf(stringsOf(restore.attributeValues));
  if (stringOf(request?.attributeName) !== RDS_RESTORE_ATTRIBUTE) return undefined;
  const added = stringsOf(request?.valuesToAdd);
  return added.includes(PUBLIC_GROUP) ? { public: true, accounts: sharingOf(added).accounts } : undefined;
}

function restoreValues(attributes: readonly (DBSnapshotAttribute | DBClusterSnapshotAttribute)[] | undefined): string[] {
  return (attributes ?? []).filter((a) => a.AttributeName === RDS_RESTORE_ATTRIBUTE).flatMap((a) => a.AttributeValues ?? []);
}

/** The snapshot's sharing now. Throws the service's not-found error when the snapshot is gone. */
export async function readSnapshotSharing(ref: ResourceRef, ctx: LiveContext): Promise<SnapshotSharing> {
  if (ref.type === EBS_SNAPSHOT_TYPE) {
    const response = await (
      await ctx.aws.ec2(ref.region)
    ).send(new DescribeSnapshotAttributeCommand({ SnapshotId: ref.id, Attribute: EBS_PERMISSION_ATTRIBUTE }));
    const values = (response.CreateVolumePermissions ?? []).flatMap((p) => [p.Group, p.UserId].filter((v): v is string => Boolean(v)));
    return sharingOf(values);
  }
  const rds = await ctx.aws.rds(ref.region);
  if (ref.type === DB_CLUSTER_SNAPSHOT_TYPE) {
    const response = await rds.send(new DescribeDBClusterSnapshotAttributesCommand({ DBClusterSnapshotIdentifier: ref.id }));
    return sharingOf(restoreValues(response.DBClusterSnapshotAttributesResult?.DBClusterSnapshotAttributes));
  }
  const response = await rds.send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: ref.id }));
  return sharingOf(restoreValues(response.DBSnapshotAttributesResult?.DBSnapshotAttributes));
}

/**
 * Adds or removes public access and nothing else: the accounts the snapshot is shared with by name keep it.
 * For EBS this uses the `OperationType` + `GroupNames` form, which every EBS endpoint honours.
 */
export async function setSnapshotPublic(ref: ResourceRef, makePublic: boolean, ctx: LiveContext): Promise<void> {
  if (ref.type === EBS_SNAPSHOT_TYPE) {
    await (
      await ctx.aws.ec2(ref.region)
    ).send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: ref.id,
        Attribute: EBS_PERMISSION_ATTRIBUTE,
        OperationType: makePublic ? "add" : "remove",
        GroupNames: [PUBLIC_GROUP],
      }),
    );
    return;
  }
  const change = makePublic ? { ValuesToAdd: [PUBLIC_GROUP] } : { ValuesToRemove: [PUBLIC_GROUP] };
  const rds = await ctx.aws.rds(ref.region);
  if (ref.type === DB_CLUSTER_SNAPSHOT_TYPE) {
    await rds.send(
      new ModifyDBClusterSnapshotAttributeCommand({ DBClusterSnapshotIdentifier: ref.id, AttributeName: RDS_RESTORE_ATTRIBUTE, ...change }),
    );
    return;
  }
  await rds.send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: ref.id, AttributeName: RDS_RESTORE_ATTRIBUTE, ...change }));
}

/**
 * EBS snapshots the account owns. The owner-id filter repeats `OwnerIds: ["self"]` because moto ignores the
 * latter and would list every public AMI snapshot it knows; the owner is checked once more on each item.
 */
export const ebsSnapshots = defineResourceKind({
  type: EBS_SNAPSHOT_TYPE,
  noun: "EBS snapshot",
  async *list(ctx) {
    const account = await resolveAccount(ctx);
    for (const region of ctx.regions) {
      for await (const page of paginateDescribeSnapshots(
        { client: await ctx.aws.ec2(region) },
        {
          OwnerIds: ["self"],
          Filters: [{ Name: "owner-id", Values: [account] }],
        },
      )) {
        for (const snapshot of page.Snapshots ?? []) {
          if (snapshot.SnapshotId && (snapshot.OwnerId ?? account) === account) yield ebsSnapshotRef(snapshot.SnapshotId, account, region);
        }
      }
    }
  },
  async tags(ref, ctx) {
    const response = await (await ctx.aws.ec2(ref.region)).send(new DescribeSnapshotsCommand({ SnapshotIds: [ref.id] }));
    return tagMap(response.Snapshots?.find((s) => s.SnapshotId === ref.id)?.Tags);
  },
});

/** Manual RDS DB snapshots: only manual snapshots can be shared, so automated ones are not listed. */
export const dbSnapshots = defineResourceKind({
  type: DB_SNAPSHOT_TYPE,
  noun: "DB snapshot",
  async *list(ctx) {
    const account = await resolveAccount(ctx);
    for (const region of ctx.regions) {
      const rds = await ctx.aws.rds(region);
      for await (const page of paginateDescribeDBSnapshots({ client: rds }, { SnapshotType: "manual" })) {
        for (const snapshot of page.DBSnapshots ?? []) {
          if (snapshot.DBSnapshotIdentifier) yield dbSnapshotRef(snapshot.DBSnapshotIdentifier, account, region);
        }
      }
    }
  },
  async tags(ref, ctx) {
    const rds = await ctx.aws.rds(ref.region);
    const response = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: ref.id }));
    return tagMap(response.DBSnapshots?.[0]?.TagList);
  },
});

/** Manual RDS DB cluster snapshots. */
export const dbClusterSnapshots = defineResourceKind({
  type: DB_CLUSTER_SNAPSHOT_TYPE,
  noun: "DB cluster snapshot",
  async *list(ctx) {
    const account = await resolveAccount(ctx);
    for (const region of ctx.regions) {
      const rds = await ctx.aws.rds(region);
      for await (const page of paginateDescribeDBClusterSnapshots({ client: rds }, { SnapshotType: "manual" })) {
        for (const snapshot of page.DBClusterSnapshots ?? []) {
          if (snapshot.DBClusterSnapshotIdentifier) {
            yield dbClusterSnapshotRef(snapshot.DBClusterSnapshotIdentifier, account, region);
          }
        }
      }
    }
  },
  async tags(ref, ctx) {
    const rds = await ctx.aws.rds(ref.region);
    const response = await rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: ref.id }));
    return tagMap(response.DBClusterSnapshots?.[0]?.TagList);
  },
});

const SNAPSHOT_KINDS: readonly ResourceKind[] = [ebsSnapshots, dbSnapshots, dbClusterSnapshots];

/** The kind of a snapshot ref, for messages and tags. */
export function snapshotKindOf(ref: ResourceRef): ResourceKind {
  const kind = SNAPSHOT_KINDS.find((k) => k.type === ref.type);
  if (!kind) throw new TypeError(`${ref.arn} is a ${ref.type}, not a snapshot`);
  return kind;
}

/**
 * Every snapshot the account owns, of all three kinds, for controls that judge snapshots alike. Each kind's
 * listing and tags stay cached under its own key, so a control of one kind shares them.
 */
export const ownedSnapshots: ResourceKind = {
  type: "AWS::Snapshot",
  noun: "snapshot",
  async *list(ctx) {
    for (const kind of SNAPSHOT_KINDS) yield* kind.list(ctx);
  },
  tags: (ref, ctx) => snapshotKindOf(ref).tags(ref, ctx),
};
