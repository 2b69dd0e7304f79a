import { randomUUID } from "node:crypto";
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DescribeSnapshotAttributeCommand,
  ModifySnapshotAttributeCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { ebsSnapshotRef } from "../../../../remediations/lib/snapshots";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION } from "../../../support/moto";

/** The partner account the scenario's snapshots are shared with by name; the fix must leave it in place. */
export const PARTNER_ACCOUNT = "111122223333";

/** A new EBS snapshot of a new 1 GiB volume, tagged as holding PHI. */
export async function createEbsSnapshot(ec2: EC2Client): Promise<string> {
  const volume = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${MOTO_REGION}a`, Size: 1 }));
  const snapshot = await ec2.send(
    new CreateSnapshotCommand({
      VolumeId: volume.VolumeId,
      Description: `snapshot-public ${randomUUID()}`,
      TagSpecifications: [{ ResourceType: "snapshot", Tags: [{ Key: "DataClassification", Value: "PHI" }] }],
    }),
  );
  if (!snapshot.SnapshotId) throw new Error("moto returned no SnapshotId");
  return snapshot.SnapshotId;
}

/** Shares with the given groups and accounts, in the OperationType form moto honours. */
export async function shareEbsSnapshot(
  ec2: EC2Client,
  snapshotId: string,
  change: "add" | "remove",
  groups: string[],
  accounts: string[] = [],
) {
  await ec2.send(
    new ModifySnapshotAttributeCommand({
      SnapshotId: snapshotId,
      Attribute: "createVolumePermission",
      OperationType: change,
      ...(groups.length > 0 ? { GroupNames: groups } : {}),
      ...(accounts.length > 0 ? { UserIds: accounts } : {}),
    }),
  );
}

/** The permission entries as "group:all" / "user:1111…", sorted. */
export async function ebsPermissions(ec2: EC2Client, snapshotId: string): Promise<string[]> {
  const response = await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: "createVolumePermission" }));
  return (response.CreateVolumePermissions ?? []).map((p) => (p.Group ? `group:${p.Group}` : `user:${p.UserId}`)).sort();
}

/** The CloudTrail record of making an EBS snapshot public: `createVolumePermission.add.items[].group == "all"`. */
export function makePublicRecord(snapshotId: string, items: Record<string, string>[] = [{ group: "all" }]) {
  return cloudTrailRecord({
    eventSource: "ec2.amazonaws.com",
    eventName: "ModifySnapshotAttribute",
    requestParameters: { snapshotId, attributeType: "CREATE_VOLUME_PERMISSION", createVolumePermission: { add: { items } } },
    responseElements: { requestId: randomUUID(), _return: true },
  });
}

/** An EBS snapshot already shared with a partner account, then made public. */
export const scenario: ControlScenario = {
  control: "snapshot-public",

  async arrangeViolation(moto) {
    const ec2 = await moto.clients.ec2(MOTO_REGION);
    const snapshotId = await createEbsSnapshot(ec2);
    await shareEbsSnapshot(ec2, snapshotId, "add", [], [PARTNER_ACCOUNT]);
    await shareEbsSnapshot(ec2, snapshotId, "add", ["all"]);
    return { record: makePublicRecord(snapshotId), resource: ebsSnapshotRef(snapshotId, MOTO_ACCOUNT, MOTO_REGION) };
  },

  async assertFixed(moto, resource: ResourceRef) {
    expect(await ebsPermissions(await moto.clients.ec2(resource.region), resource.id)).toEqual([`user:${PARTNER_ACCOUNT}`]);
  },

  async assertUnchanged(moto, resource: ResourceRef) {
    expect(await ebsPermissions(await moto.clients.ec2(resource.region), resource.id)).toEqual(["group:all", `user:${PARTNER_ACCOUNT}`]);
  },

  async makeCompliant(moto, resource: ResourceRef) {
    await shareEbsSnapshot(await moto.clients.ec2(resource.region), resource.id, "remove", ["all"]);
  },
};
