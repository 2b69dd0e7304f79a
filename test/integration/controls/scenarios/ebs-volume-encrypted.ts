import { randomUUID } from "node:crypto";
import { CreateVolumeCommand, DeleteVolumeCommand, DescribeVolumesCommand, type EC2Client, type Volume } from "@aws-sdk/client-ec2";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { REPLACES_TAG, SUPERSEDED_TAG } from "../../../../remediations/lib/ebs-volume-replacement";
import { volumeRef } from "../../../../remediations/lib/ebs-volumes";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION } from "../../../support/moto";

export const VOLUME_ZONE = `${MOTO_REGION}b`;

/** A new detached, unencrypted gp3 volume with a unique Name tag (moto's CreateVolume ignores default encryption). */
export async function createPlainVolume(ec2: EC2Client, tags: Record<string, string> = {}): Promise<Volume & { VolumeId: string }> {
  const allTags = { Name: `patient-data-${randomUUID().slice(0, 8)}`, ...tags };
  const volume = await ec2.send(
    new CreateVolumeCommand({
      AvailabilityZone: VOLUME_ZONE,
      Size: 2,
      VolumeType: "gp3",
      Encrypted: false,
      TagSpecifications: [{ ResourceType: "volume", Tags: Object.entries(allTags).map(([Key, Value]) => ({ Key, Value })) }],
    }),
  );
  if (!volume.VolumeId) throw new Error("moto returned no VolumeId");
  return { ...volume, VolumeId: volume.VolumeId };
}

/** The CloudTrail record of that CreateVolume call: `responseElements.{volumeId, encrypted}`. */
export function createVolumeRecord(volume: Volume, encrypted = volume.Encrypted === true) {
  return cloudTrailRecord({
    eventSource: "ec2.amazonaws.com",
    eventName: "CreateVolume",
    requestParameters: { size: String(volume.Size), zone: volume.AvailabilityZone, volumeType: volume.VolumeType, encrypted },
    responseElements: {
      requestId: randomUUID(),
      volumeId: volume.VolumeId,
      size: String(volume.Size),
      zone: volume.AvailabilityZone,
      status: "creating",
      createTime: 1740830400000,
      volumeType: volume.VolumeType,
      encrypted,
      multiAttachEnabled: false,
    },
  });
}

export async function describeVolume(ec2: EC2Client, volumeId: string): Promise<Volume | undefined> {
  const response = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: "volume-id", Values: [volumeId] }] }));
  return response.Volumes?.[0];
}

/** Volumes the engine created to replace `volumeId`. */
export async function replacementsOf(ec2: EC2Client, volumeId: string): Promise<Volume[]> {
  const response = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: `tag:${REPLACES_TAG}`, Values: [volumeId] }] }));
  return response.Volumes ?? [];
}

export function tagOf(volume: Volume | undefined, key: string): string | undefined {
  return volume?.Tags?.find((tag) => tag.Key === key)?.Value;
}

/** A detached unencrypted volume, with the optional encrypted-copy proposal turned on. */
export const scenario: ControlScenario = {
  control: "ebs-volume-encrypted",
  options: { replaceDetached: true },

  async arrangeViolation(moto) {
    const volume = await createPlainVolume(await moto.clients.ec2(MOTO_REGION));
    return { record: createVolumeRecord(volume), resource: volumeRef(volume.VolumeId, MOTO_ACCOUNT, MOTO_REGION) };
  },

  async assertFixed(moto, resource: ResourceRef) {
    const ec2 = await moto.clients.ec2(resource.region);
    const original = await describeVolume(ec2, resource.id);
    const [replacement, ...more] = await replacementsOf(ec2, resource.id);
    expect(more).toEqual([]);
    expect(original?.Encrypted).toBe(false);
    expect(tagOf(original, SUPERSEDED_TAG)).toBe(replacement?.VolumeId);
    expect(replacement).toMatchObject({ Encrypted: true, AvailabilityZone: VOLUME_ZONE, VolumeType: "gp3", Size: 2 });
    expect(tagOf(replacement, "Name")).toBe(tagOf(original, "Name"));
  },

  async assertUnchanged(moto, resource: ResourceRef) {
    const ec2 = await moto.clients.ec2(resource.region);
    const original = await describeVolume(ec2, resource.id);
    expect(original).toMatchObject({ Encrypted: false, State: "available" });
    expect(tagOf(original, SUPERSEDED_TAG)).toBeUndefined();
    expect(await replacementsOf(ec2, resource.id)).toEqual([]);
  },

  async makeCompliant(moto, resource: ResourceRef) {
    await (await moto.clients.ec2(resource.region)).send(new DeleteVolumeCommand({ VolumeId: resource.id }));
  },
};
