import {
  CATEGORIES,
  defineControl,
  eventRef,
  type ChangeEvent,
  type ControlContext,
  type Finding,
  type JsonObject,
  type LiveContext,
  type Plan,
  type ResourceRef,
  type Verdict,
} from "@hipaa-remediate/core";
import { z } from "zod";
import { instanceRef } from "./lib/arn";
import { parseControlData } from "./lib/control-data";
import {
  REPLACES_TAG,
  SUPERSEDED_TAG,
  removeReplacement,
  replaceVolume,
  replacementBeforeSchema,
  verifyReplacement,
} from "./lib/ebs-volume-replacement";
import { instanceVolumeIds, readVolumeShared, volumeRef, volumeRefsFromCreateVolume, volumes, type LiveVolume } from "./lib/ebs-volumes";
import { launchedInstances } from "./lib/ec2-quarantine";
import { InvalidControlDataError, NotifyOnlyPlanError } from "./lib/errors";
import { booleanOf, numberOf, objectAt, objectsOf, stringOf } from "./lib/json-fields";
import { kmsKeyReference } from "./lib/options";

const CONTROL_ID = "ebs-volume-encrypted";
const EC2_SOURCE = "ec2.amazonaws.com";

const optionsSchema = z
  .strictObject({
    /**
     * Propose replacing a DETACHED unencrypted volume with an encrypted copy (the original is kept). Attached
     * volumes are always notify-only: swapping a disk under a running instance is not the engine's call.
     */
    replaceDetached: z.boolean({ error: "replaceDetached must be true or false" }).default(false),
    /** The KMS key for the encrypted copy; the account's default EBS key when absent. */
    kmsKeyId: kmsKeyReference().optional(),
  })
  .prefault({});

export type VolumeEncryptionOptions = z.output<typeof optionsSchema>;

/** A volume found unencrypted; `attachedTo` is null when only the event was seen (offline). */
const volumeEvidenceSchema = z.object({
  subject: z.literal("volume"),
  volumeId: z.string().min(1),
  availabilityZone: z.string().nullable(),
  sizeGiB: z.number().nullable(),
  attachedTo: z.array(z.string()).nullable(),
});

/** Offline only: a launch whose request asked for unencrypted volumes; which volumes came of it needs EC2. */
const launchEvidenceSchema = z.object({
  subject: z.literal("launch"),
  instanceId: z.string().min(1),
  devices: z.array(z.string()),
});

const evidenceSchema = z.discriminatedUnion("subject", [volumeEvidenceSchema, launchEvidenceSchema]);

export type VolumeEncryptionPlanParams =
  | { action: "notify"; subject: string; region: string; reason: string }
  | { action: "replace"; volumeId: string; region: string; kmsKeyId: string | null };

const planParamsSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("notify"), subject: z.string().min(1), region: z.string().min(1), reason: z.string() }),
  z.object({
    action: z.literal("replace"),
    volumeId: z.string().regex(/^vol-[0-9a-f]+$/),
    region: z.string().min(1),
    kmsKeyId: z.string().nullable(),
  }),
]);

function finding(
  resource: ResourceRef,
  summary: string,
  evidence: JsonObject,
  context: { confirmed: boolean; tags: Record<string, string>; event: ChangeEvent | undefined },
): Verdict {
  const found: Finding = {
    control: CONTROL_ID,
    resource,
    summary,
    evidence,
    confirmed: context.confirmed,
    tags: context.tags,
    ...(context.event ? { event: eventRef(context.event) } : {}),
  };
  return { kind: "violation", finding: found };
}

/** Device names whose block device mapping explicitly asks for an unencrypted EBS volume. */
function unencryptedDevices(event: ChangeEvent): string[] {
  return objectsOf(objectAt(event.request, "blockDeviceMapping")?.items).flatMap((mapping) => {
    const ebs = objectAt(mapping, "ebs");
    return ebs && booleanOf(ebs.encrypted) === false ? [stringOf(mapping.deviceName) ?? "(unnamed device)"] : [];
  });
}

/**
 * Offline, flag only what the record proves. CreateVolume's response says whether the volume is encrypted. A
 * launch that leaves `encrypted` out may still be encrypted (by default encryption or an encrypted AMI), so only
 * an explicit `false` is reported, and even that stays unconfirmed: encryption by default overrides it.
 */
function detectOffline(resource: ResourceRef, event: ChangeEvent | undefined): Verdict[] {
  if (!event) return [];
  if (event.name === "CreateVolume") {
    if (booleanOf(event.response?.encrypted) !== false) return [];
    const evidence = {
      subject: "volume",
      volumeId: resource.id,
      availabilityZone: stringOf(event.response?.zone) ?? null,
      sizeGiB: numberOf(event.response?.size) ?? null,
      attachedTo: null,
    };
    return [finding(resource, `Volume ${resource.id} was created unencrypted`, evidence, { confirmed: false, tags: {}, event })];
  }
  const devices = unencryptedDevices(event);
  if (devices.length === 0) return [];
  const summary = `Instance ${resource.id} was launched asking for unencrypted EBS volumes at ${devices.join(", ")} (encryption by default or an encrypted snapshot may still have encrypted them)`;
  return [finding(resource, summary, { subject: "launch", instanceId: resource.id, devices }, { confirmed: false, tags: {}, event })];
}

function volumeEvidence(volume: LiveVolume): JsonObject {
  return {
    subject: "volume",
    volumeId: volume.volumeId,
    availabilityZone: volume.availabilityZone,
    sizeGiB: volume.sizeGiB,
    attachedTo: volume.attachedTo,
  };
}

/** The verdict on one live volume. A volume already replaced by the engine is left to its owner. */
function judgeVolume(ref: ResourceRef, volume: LiveVolume | undefined, event: ChangeEvent | undefined): Verdict {
  if (!volume) return { kind: "no-longer-applies", resource: ref, reason: `volume ${ref.id} no longer exists` };
  if (volume.encrypted) return { kind: "no-longer-applies", resource: ref, reason: `volume ${ref.id} is encrypted` };
  const replacement = volume.tags[SUPERSEDED_TAG];
  if (replacement) {
    const reason = `volume ${ref.id} is unencrypted but superseded by its encrypted copy ${replacement}; delete it once the copy is in use`;
    return { kind: "no-longer-applies", resource: ref, reason };
  }
  const where = volume.attachedTo.length > 0 ? `attached to ${volume.attachedTo.join(", ")}` : "detached";
  return finding(ref, `Volume ${ref.id} (${where}) is not encrypted`, volumeEvidence(volume), {
    confirmed: true,
    tags: volume.tags,
    event,
  });
}

async function detectLive(
  resource: ResourceRef,
  event: ChangeEvent | undefined,
  ctx: LiveContext<VolumeEncryptionOptions>,
): Promise<Verdict[]> {
  if (resource.type !== "AWS::EC2::Instance") return [judgeVolume(resource, await readVolumeShared(ctx, resource), event)];
  const volumeIds = await instanceVolumeIds(await ctx.aws.ec2(resource.region), resource.id);
  if (!volumeIds) return [{ kind: "no-longer-applies", resource, reason: `instance ${resource.id} no longer exists or is terminated` }];
  const verdicts: Verdict[] = [];
  for (const volumeId of volumeIds) {
    const ref = volumeRef(volumeId, resource.account, resource.region);
    const verdict = judgeVolume(ref, await readVolumeShared(ctx, ref), event);
    if (verdict.kind === "violation") verdicts.push(verdict);
  }
  if (verdicts.length > 0) return verdicts;
  return [{ kind: "no-longer-applies", resource, reason: `every EBS volume of instance ${resource.id} is encrypted` }];
}

const HOW_TO_FIX =
  "An EBS volume cannot be encrypted in place: snapshot it, copy the snapshot with encryption, create a volume from the copy, swap it in during a maintenance window, then delete the original.";

function notifyPlan(resource: ResourceRef, subject: string, reason: string): Plan<VolumeEncryptionPlanParams> {
  return {
    control: CONTROL_ID,
    resource,
    summary: `${subject} is not encrypted and cannot be encrypted in place: notify its owner (${reason}).`,
    steps: [`No change: ${reason}.`, HOW_TO_FIX],
    reversible: true,
    notifyOnly: true,
    params: { action: "notify", subject, region: resource.region, reason },
  };
}

function readPlan(plan: Plan<VolumeEncryptionPlanParams>) {
  const params = parseControlData(planParamsSchema, plan.params, `plan for ${CONTROL_ID}`);
  if (params.action === "notify") throw new NotifyOnlyPlanError(`plan for ${params.subject} is notify-only and changes nothing`);
  return params;
}

export const control = defineControl<VolumeEncryptionOptions, VolumeEncryptionPlanParams>({
  id: CONTROL_ID,
  title: "EBS volumes are encrypted",
  category: "encryption-at-rest",
  hipaa: {
    sections: [...CATEGORIES["encryption-at-rest"].hipaa],
    why: "An unencrypted volume keeps whatever ePHI an instance writes in plain form on disk and in every snapshot of it, without the encryption at rest 164.312(a)(2)(iv) asks for.",
  },
  severity: "high",
  options: optionsSchema,
  triggers: [
    { source: EC2_SOURCE, name: "CreateVolume", resources: volumeRefsFromCreateVolume },
    {
      source: EC2_SOURCE,
      name: "RunInstances",
      resources: (event) => launchedInstances(event).map((launch) => instanceRef(launch.instanceId, event.account, event.region)),
    },
  ],
  permissions: {
    detect: ["ec2:DescribeVolumes", "ec2:DescribeInstances"],
    apply: [
      "ec2:DescribeVolumes",
      "ec2:CreateSnapshot",
      "ec2:DescribeSnapshots",
      "ec2:CopySnapshot",
      "ec2:CreateVolume",
      "ec2:CreateTags",
      // CopySnapshot and CreateVolume with a customer managed key act on the key as the caller.
      "kms:DescribeKey",
      "kms:CreateGrant",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:Decrypt",
    ],
    rollback: ["ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:DeleteVolume", "ec2:DeleteSnapshot", "ec2:DeleteTags"],
  },

  async detect(input, ctx: ControlContext<VolumeEncryptionOptions>) {
    if (!ctx.aws) return detectOffline(input.resource, input.event);
    return detectLive(input.resource, input.event, { ...ctx, aws: ctx.aws });
  },

  plan(found, options): Plan<VolumeEncryptionPlanParams> {
    const evidence = parseControlData(evidenceSchema, found.evidence, `evidence of ${CONTROL_ID} for ${found.resource.arn}`);
    if (evidence.subject === "launch") {
      return notifyPlan(
        found.resource,
        `A volume of instance ${evidence.instanceId}`,
        `the launch asked for unencrypted volumes at ${evidence.devices.join(", ")}; confirm against EC2`,
      );
    }
    const volume = `Volume ${evidence.volumeId}`;
    if (evidence.attachedTo === null)
      return notifyPlan(found.resource, volume, "detected from the event alone; whether it is attached is unknown");
    if (evidence.attachedTo.length > 0) {
      return notifyPlan(
        found.resource,
        volume,
        `it is attached to ${evidence.attachedTo.join(", ")}; swapping it needs that instance stopped`,
      );
    }
    if (!options.replaceDetached)
      return notifyPlan(found.resource, volume, "it is detached; set replaceDetached to propose an encrypted copy");
    const key = options.kmsKeyId ?? "the account's default EBS key";
    const size = evidence.sizeGiB !== null ? `${evidence.sizeGiB} GiB` : "its size";
    return {
      control: CONTROL_ID,
      resource: found.resource,
      summary: `Replace detached volume ${evidence.volumeId} with an encrypted copy (KMS key ${key}); keep the original, tagged as superseded.`,
      steps: [
        `Check that ${evidence.volumeId} still exists, is detached and unencrypted, and record its ${SUPERSEDED_TAG} tag for rollback.`,
        `CreateSnapshot of ${evidence.volumeId}, then CopySnapshot with Encrypted=true and KMS key ${key}.`,
        `CreateVolume from the encrypted copy in ${evidence.availabilityZone ?? "the same Availability Zone"}, with the same type and tags plus ${REPLACES_TAG}=${evidence.volumeId} and the engine's tag.`,
        `Tag ${evidence.volumeId} with ${SUPERSEDED_TAG}=<new volume id>. The original is kept: delete it yourself once the copy is in use.`,
        `Costs: one more volume of ${size} and two snapshots, until the original and the snapshots are deleted.`,
        "Rollback deletes the new volume and both snapshots; the original is untouched.",
      ],
      reversible: true,
      params: { action: "replace", volumeId: evidence.volumeId, region: found.resource.region, kmsKeyId: options.kmsKeyId ?? null },
    };
  },

  async apply(plan, ctx) {
    const params = readPlan(plan);
    return replaceVolume(await ctx.aws.ec2(params.region), { ...params, control: CONTROL_ID, engineTagKey: ctx.engine.tagKey });
  },

  async verify(plan, ctx) {
    const params = readPlan(plan);
    return verifyReplacement(await ctx.aws.ec2(params.region), params.volumeId);
  },

  async rollback(plan, before, ctx) {
    const params = readPlan(plan);
    const previous = parseControlData(replacementBeforeSchema, before, `state captured before ${CONTROL_ID} changed ${params.volumeId}`);
    if (previous.volumeId !== params.volumeId) {
      throw new InvalidControlDataError(`field volumeId: captured state is for ${previous.volumeId}, the plan is for ${params.volumeId}`);
    }
    await removeReplacement(await ctx.aws.ec2(previous.region), previous);
  },

  sweep: (ctx) => volumes.list(ctx),
});
