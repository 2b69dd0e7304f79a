import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  waitUntilSnapshotCompleted,
  type EC2Client,
  type Tag,
  type VolumeType,
} from "@aws-sdk/client-ec2";
import type { JsonObject, VerifyResult } from "@hipaa-remediate/core";
import { z } from "zod";
import { readVolume, type LiveVolume } from "./ebs-volumes";
import { ResourceGoneError } from "./errors";

/**
 * Replaces a detached unencrypted EBS volume with an encrypted copy: snapshot it, copy the snapshot with
 * encryption, create a volume from the copy in the same Availability Zone with the same type and tags. The
 * original is kept and tagged as superseded, so nothing is lost and whoever owns it decides when to delete it.
 *
 * Everything created is tagged with the volume it replaces, so rollback (and a person cleaning up after a
 * failed attempt) finds it by tag: the log only carries the state captured before the change.
 */

/** On every snapshot and volume created for a replacement: the id of the original volume. */
export const REPLACES_TAG = "hipaa-remediate:replaces";
/** On the original volume: the id of its encrypted replacement. */
export const SUPERSEDED_TAG = "hipaa-remediate:superseded-by";
/** EBS allows 50 tags per resource; two are the engine's. */
const MAX_COPIED_TAGS = 47;
/** Snapshots of large volumes take a while; a longer wait belongs in a Step Functions flow, not a Lambda. */
const SNAPSHOT_WAIT_SECONDS = 600;

export class VolumeReplacementError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "VolumeReplacementError";
  }
}

export type ReplacementRequest = { volumeId: string; region: string; kmsKeyId: string | null; control: string; engineTagKey: string };

/** What apply captures: the original's superseded tag before the change (null when absent). */
export const replacementBeforeSchema = z.object({
  volumeId: z.string().min(1),
  region: z.string().min(1),
  supersededBy: z.string().nullable(),
});
export type ReplacementBefore = z.output<typeof replacementBeforeSchema>;

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new VolumeReplacementError(`EC2 returned no ${what}`);
  return value;
}

/** The original's own tags, minus AWS-reserved keys and the engine's markers, which cannot or must not be copied. */
function copiedTags(volume: LiveVolume, request: ReplacementRequest): Tag[] {
  const own = Object.entries(volume.tags)
    .filter(([key]) => !key.startsWith("aws:") && key !== SUPERSEDED_TAG && key !== REPLACES_TAG && key !== request.engineTagKey)
    .slice(0, MAX_COPIED_TAGS)
    .map(([Key, Value]) => ({ Key, Value }));
  return [...own, { Key: REPLACES_TAG, Value: volume.volumeId }, { Key: request.engineTagKey, Value: request.control }];
}

function markers(volume: LiveVolume, request: ReplacementRequest): Tag[] {
  return [
    { Key: REPLACES_TAG, Value: volume.volumeId },
    { Key: request.engineTagKey, Value: request.control },
  ];
}

/** Performance settings a new volume of the same type accepts; gp2 and magnetic volumes take none. */
function performance(volume: LiveVolume): { Iops?: number; Throughput?: number } {
  const type = volume.volumeType ?? "";
  return {
    ...(volume.iops !== null && ["gp3", "io1", "io2"].includes(type) ? { Iops: volume.iops } : {}),
    ...(volume.throughput !== null && type === "gp3" ? { Throughput: volume.throughput } : {}),
  };
}

export async function requireVolume(ec2: EC2Client, volumeId: string): Promise<LiveVolume> {
  const volume = await readVolume(ec2, volumeId);
  if (!volume) throw new ResourceGoneError(`volume ${volumeId} no longer exists`);
  return volume;
}

/**
 * Replaces the volume, re-checking it first. An encrypted volume, or one already superseded, is left alone
 * (before equals after); a volume attached since the finding is refused, since swapping it needs the instance.
 */
export async function replaceVolume(
  ec2: EC2Client,
  request: ReplacementRequest,
): Promise<{ before: ReplacementBefore; after: JsonObject }> {
  const volume = await requireVolume(ec2, request.volumeId);
  const before: ReplacementBefore = {
    volumeId: volume.volumeId,
    region: request.region,
    supersededBy: volume.tags[SUPERSEDED_TAG] ?? null,
  };
  if (volume.encrypted || before.supersededBy !== null) return { before, after: before };
  if (volume.attachedTo.length > 0 || volume.state !== "available") {
    throw new VolumeReplacementError(
      `volume ${volume.volumeId} is ${volume.state}${volume.attachedTo.length > 0 ? ` (attached to ${volume.attachedTo.join(", ")})` : ""}: only detached volumes are replaced`,
    );
  }
  const tagged = (type: "snapshot" | "volume", tags: Tag[]) => [{ ResourceType: type, Tags: tags }];
  const snapshot = await ec2.send(
    new CreateSnapshotCommand({
      VolumeId: volume.volumeId,
      Description: `${request.control}: source for the encrypted copy of ${volume.volumeId}`,
      TagSpecifications: tagged("snapshot", markers(volume, request)),
    }),
  );
  const sourceId = required(snapshot.SnapshotId, "SnapshotId");
  await waitUntilSnapshotCompleted({ client: ec2, maxWaitTime: SNAPSHOT_WAIT_SECONDS }, { SnapshotIds: [sourceId] });
  const copy = await ec2.send(
    new CopySnapshotCommand({
      SourceSnapshotId: sourceId,
      SourceRegion: request.region,
      Encrypted: true,
      ...(request.kmsKeyId ? { KmsKeyId: request.kmsKeyId } : {}),
      Description: `${request.control}: encrypted copy of ${volume.volumeId}`,
      TagSpecifications: tagged("snapshot", markers(volume, request)),
    }),
  );
  const encryptedId = required(copy.SnapshotId, "SnapshotId of the copy");
  await waitUntilSnapshotCompleted({ client: ec2, maxWaitTime: SNAPSHOT_WAIT_SECONDS }, { SnapshotIds: [encryptedId] });
  const created = await ec2.send(
    new CreateVolumeCommand({
      AvailabilityZone: volume.availabilityZone,
      SnapshotId: encryptedId,
      ...(volume.volumeType ? { VolumeType: volume.volumeType as VolumeType } : {}),
      ...performance(volume),
      Encrypted: true,
      ...(request.kmsKeyId ? { KmsKeyId: request.kmsKeyId } : {}),
      TagSpecifications: tagged("volume", copiedTags(volume, request)),
    }),
  );
  const replacementId = required(created.VolumeId, "VolumeId");
  await ec2.send(new CreateTagsCommand({ Resources: [volume.volumeId], Tags: [{ Key: SUPERSEDED_TAG, Value: replacementId }] }));
  return {
    before,
    after: { ...before, supersededBy: replacementId, replacement: { volumeId: replacementId, snapshotIds: [sourceId, encryptedId] } },
  };
}

/** Reads back: the original is tagged with its replacement, which exists, is encrypted and sits in the same zone. */
export async function verifyReplacement(ec2: EC2Client, volumeId: string): Promise<VerifyResult> {
  const original = await readVolume(ec2, volumeId);
  if (!original) return { ok: false, state: { volumeId, exists: false }, detail: `volume ${volumeId} no longer exists` };
  if (original.encrypted) return { ok: true, state: { volumeId, encrypted: true } };
  const replacementId = original.tags[SUPERSEDED_TAG];
  if (!replacementId)
    return { ok: false, state: { volumeId, encrypted: false }, detail: `volume ${volumeId} is not encrypted and has no replacement` };
  const replacement = await readVolume(ec2, replacementId);
  const state: JsonObject = {
    volumeId,
    replacementVolumeId: replacementId,
    replacementEncrypted: replacement?.encrypted ?? null,
    replacementKmsKeyId: replacement?.kmsKeyId ?? null,
  };
  if (!replacement) return { ok: false, state, detail: `replacement volume ${replacementId} of ${volumeId} no longer exists` };
  if (!replacement.encrypted) return { ok: false, state, detail: `replacement volume ${replacementId} is not encrypted` };
  if (replacement.availabilityZone !== original.availabilityZone) {
    return {
      ok: false,
      state,
      detail: `replacement volume ${replacementId} is in ${replacement.availabilityZone}, not ${original.availabilityZone}`,
    };
  }
  return { ok: true, state };
}

/**
 * Undoes `replaceVolume`: deletes the volumes and snapshots tagged as replacing the original and puts the
 * original's superseded tag back as it was. The original is otherwise untouched. A replacement already attached
 * to an instance is refused: deleting it would take data someone is now using.
 */
export async function removeReplacement(ec2: EC2Client, before: ReplacementBefore): Promise<void> {
  // The apply changed nothing (the volume was already superseded): there is nothing of ours to remove.
  if (before.supersededBy !== null) return;
  const byMarker = [{ Name: `tag:${REPLACES_TAG}`, Values: [before.volumeId] }];
  const created = (await ec2.send(new DescribeVolumesCommand({ Filters: byMarker }))).Volumes ?? [];
  const inUse = created.filter((v) => (v.Attachments ?? []).length > 0);
  if (inUse.length > 0) {
    throw new VolumeReplacementError(
      `replacement volume ${inUse.map((v) => v.VolumeId).join(", ")} of ${before.volumeId} is attached; detach it before rolling back`,
    );
  }
  for (const volume of created) {
    if (volume.VolumeId) await ec2.send(new DeleteVolumeCommand({ VolumeId: volume.VolumeId }));
  }
  const snapshots = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: byMarker }))).Snapshots ?? [];
  for (const snapshot of snapshots) {
    if (snapshot.SnapshotId) await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshot.SnapshotId }));
  }
  if (await readVolume(ec2, before.volumeId)) {
    await ec2.send(new DeleteTagsCommand({ Resources: [before.volumeId], Tags: [{ Key: SUPERSEDED_TAG }] }));
  }
}
