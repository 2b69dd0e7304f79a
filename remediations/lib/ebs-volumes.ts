import {
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  paginateDescribeVolumes,
  type EC2Client,
  type Volume,
} from "@aws-sdk/client-ec2";
import type { ChangeEvent, LiveContext, ResourceRef } from "@hipaa-remediate/core";
import { resolveAccount } from "./account";
import { isNotFound } from "./aws-errors";
import { ResourceGoneError } from "./errors";
import { objectAt, stringOf } from "./json-fields";
import { defineResourceKind } from "./resource-kind";
import { tagMap, type TagMap } from "./tags";

export const VOLUME_TYPE = "AWS::EC2::Volume";
const VOLUME_ID = /^vol-[0-9a-f]+$/;

export function volumeRef(volumeId: string, account: string, region: string): ResourceRef {
  return { type: VOLUME_TYPE, id: volumeId, arn: `arn:aws:ec2:${region}:${account}:volume/${volumeId}`, account, region };
}

/** The volume a CreateVolume record made: `responseElements.volumeId` (the request has no id yet). */
export function volumeRefsFromCreateVolume(event: ChangeEvent): ResourceRef[] {
  const volumeId = stringOf(event.response?.volumeId) ?? stringOf(objectAt(event.response, "CreateVolumeResponse")?.volumeId);
  return volumeId && VOLUME_ID.test(volumeId) ? [volumeRef(volumeId, event.account, event.region)] : [];
}

/** A volume as the controls judge and replace it. */
export interface LiveVolume {
  volumeId: string;
  encrypted: boolean;
  kmsKeyId: string | null;
  /** creating, available (detached), in-use, deleting, deleted, error. */
  state: string;
  availabilityZone: string;
  sizeGiB: number | null;
  volumeType: string | null;
  iops: number | null;
  throughput: number | null;
  /** Instances the volume is attached to (empty when detached). */
  attachedTo: string[];
  tags: TagMap;
}

function toLiveVolume(volume: Volume & { VolumeId: string }): LiveVolume {
  return {
    volumeId: volume.VolumeId,
    encrypted: volume.Encrypted === true,
    kmsKeyId: volume.KmsKeyId ?? null,
    state: volume.State ?? "unknown",
    availabilityZone: volume.AvailabilityZone ?? "",
    sizeGiB: volume.Size ?? null,
    volumeType: volume.VolumeType ?? null,
    iops: volume.Iops ?? null,
    throughput: volume.Throughput ?? null,
    attachedTo: [...new Set((volume.Attachments ?? []).flatMap((a) => (a.InstanceId ? [a.InstanceId] : [])))].sort(),
    tags: tagMap(volume.Tags),
  };
}

const GONE_STATES = new Set(["deleting", "deleted"]);

/** The volume as it is now, or undefined when it is gone or being deleted. */
export async function readVolume(ec2: EC2Client, volumeId: string): Promise<LiveVolume | undefined> {
  try {
    const response = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    const volume = response.Volumes?.find((v) => v.VolumeId === volumeId);
    if (!volume) return undefined;
    const live = toLiveVolume({ ...volume, VolumeId: volumeId });
    return GONE_STATES.has(live.state) ? undefined : live;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** `readVolume` through the unit of work's cache, shared by detection and the kind's tags. */
export function readVolumeShared(ctx: LiveContext, ref: ResourceRef): Promise<LiveVolume | undefined> {
  return ctx.reads.read(`volume:${ref.arn}`, async () => readVolume(await ctx.aws.ec2(ref.region), ref.id));
}

/** The EBS volumes attached to an instance, or undefined when the instance is gone or terminated. */
export async function instanceVolumeIds(ec2: EC2Client, instanceId: string): Promise<string[] | undefined> {
  try {
    const response = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const instance = response.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    if (!instance || instance.State?.Name === "terminated") return undefined;
    return (instance.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.VolumeId ? [m.Ebs.VolumeId] : []));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function* listVolumes(ctx: LiveContext): AsyncGenerator<ResourceRef> {
  const account = await resolveAccount(ctx);
  for (const region of ctx.regions) {
    for await (const page of paginateDescribeVolumes({ client: await ctx.aws.ec2(region) }, {})) {
      for (const volume of page.Volumes ?? []) {
        if (volume.VolumeId && !GONE_STATES.has(volume.State ?? "")) yield volumeRef(volume.VolumeId, account, region);
      }
    }
  }
}

/** EBS volumes: listed once per region and sweep run, tagged once per unit of work, for every volume control. */
export const volumes = defineResourceKind({
  type: VOLUME_TYPE,
  noun: "volume",
  list: listVolumes,
  async tags(ref, ctx) {
    const volume = await readVolumeShared(ctx, ref);
    if (!volume) throw new ResourceGoneError(`volume ${ref.id} no longer exists`);
    return volume.tags;
  },
});
