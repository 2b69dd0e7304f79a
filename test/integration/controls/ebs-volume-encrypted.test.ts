import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Volume,
} from "@aws-sdk/client-ec2";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import { ReadCache, type ChangeEvent, type Finding, type ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control } from "../../../remediations/ebs-volume-encrypted";
import { instanceRef } from "../../../remediations/lib/arn";
import { REPLACES_TAG, SUPERSEDED_TAG } from "../../../remediations/lib/ebs-volume-replacement";
import { volumeRef } from "../../../remediations/lib/ebs-volumes";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { TEST_ENGINE_TAG, changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusEventsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import {
  VOLUME_ZONE,
  createPlainVolume,
  createVolumeRecord,
  describeVolume,
  replacementsOf,
  scenario,
  tagOf,
} from "./scenarios/ebs-volume-encrypted";

// No reset between tests: moto rebuilds every region's default VPC after a reset. Each test makes its own volumes.
const moto = useMoto();
const ec2 = await moto.clients.ec2(MOTO_REGION);
const [createVolumeTrigger, runInstancesTrigger] = control.triggers;
if (!createVolumeTrigger || !runInstancesTrigger) throw new Error("ebs-volume-encrypted declares fewer than two triggers");
const live = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = () => offlineContext(moto, control);
const ref = (volumeId: string) => volumeRef(volumeId, MOTO_ACCOUNT, MOTO_REGION);
const TEST_AMI = "ami-0abcdef1234567890";

function runInstancesRecord(instanceIds: string[], blockDeviceMapping: Record<string, unknown> | null) {
  return cloudTrailRecord({
    eventSource: "ec2.amazonaws.com",
    eventName: "RunInstances",
    requestParameters: blockDeviceMapping === null ? null : { instanceType: "t3.micro", blockDeviceMapping },
    responseElements: { instancesSet: { items: instanceIds.map((instanceId) => ({ instanceId, imageId: TEST_AMI })) } },
  });
}

async function offlineFindings(event: ChangeEvent): Promise<Finding[]> {
  const trigger = event.name === "CreateVolume" ? createVolumeTrigger : runInstancesTrigger;
  const verdicts = await Promise.all(trigger?.resources(event).map((resource) => control.detect({ resource, event }, offline())) ?? []);
  return verdicts.flat().flatMap((v) => (v.kind === "violation" ? [v.finding] : []));
}

describe("ebs-volume-encrypted: identity and options", () => {
  it("is registered, notify-only by default, with exact IAM actions", () => {
    expect(controlById("ebs-volume-encrypted")).toBe(control);
    expect(control).toMatchObject({ category: "encryption-at-rest", severity: "high" });
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "ec2.amazonaws.com CreateVolume",
      "ec2.amazonaws.com RunInstances",
    ]);
    expect(control.permissions.detect).toEqual(["ec2:DescribeVolumes", "ec2:DescribeInstances"]);
    expect(control.permissions.apply).toEqual(
      expect.arrayContaining(["ec2:CreateSnapshot", "ec2:CopySnapshot", "ec2:CreateVolume", "kms:CreateGrant"]),
    );
    expect(control.permissions.rollback).toEqual([
      "ec2:DescribeVolumes",
      "ec2:DescribeSnapshots",
      "ec2:DeleteVolume",
      "ec2:DeleteSnapshot",
      "ec2:DeleteTags",
    ]);
    expect(control.options.parse({})).toEqual({ replaceDetached: false });
  });

  it("rejects bad options, naming the field", () => {
    const flag = control.options.safeParse({ replaceDetached: "yes" });
    expect(flag.error?.issues[0]).toMatchObject({ path: ["replaceDetached"], message: "replaceDetached must be true or false" });
    const key = control.options.safeParse({ replaceDetached: true, kmsKeyId: "my-key" });
    expect(key.error?.issues[0]?.path).toEqual(["kmsKeyId"]);
    expect(key.error?.issues[0]?.message).toContain("must name a KMS key");
    expect(control.options.safeParse({ replace: true }).success).toBe(false);
    expect(control.options.parse({ replaceDetached: true, kmsKeyId: "alias/ebs-phi" })).toEqual({
      replaceDetached: true,
      kmsKeyId: "alias/ebs-phi",
    });
  });
});

describe("ebs-volume-encrypted: triggers", () => {
  it("names the volume CreateVolume's response made, and nothing without one", async () => {
    const volume: Volume = {
      VolumeId: "vol-0a1b2c3d4e5f60718",
      Size: 8,
      AvailabilityZone: VOLUME_ZONE,
      VolumeType: "gp3",
      Encrypted: false,
    };
    expect(createVolumeTrigger.resources(changeEventOf(createVolumeRecord(volume)))).toEqual([ref("vol-0a1b2c3d4e5f60718")]);
    const bare = (response: Record<string, unknown> | null) =>
      changeEventOf(
        cloudTrailRecord({
          eventSource: "ec2.amazonaws.com",
          eventName: "CreateVolume",
          requestParameters: null,
          responseElements: response,
        }),
      );
    expect(createVolumeTrigger.resources(bare(null))).toEqual([]);
    expect(createVolumeTrigger.resources(bare({ volumeId: "..." }))).toEqual([]);
  });

  it("names every instance a RunInstances record launched, even with null request parameters", () => {
    const event = changeEventOf(runInstancesRecord(["i-0aaa1111bbbb2222c", "i-0ddd3333eeee4444f"], null));
    expect(runInstancesTrigger.resources(event)).toEqual([
      instanceRef("i-0aaa1111bbbb2222c", MOTO_ACCOUNT, MOTO_REGION),
      instanceRef("i-0ddd3333eeee4444f", MOTO_ACCOUNT, MOTO_REGION),
    ]);
  });
});

describe("ebs-volume-encrypted: offline detection flags only what the record proves", () => {
  const volume: Volume & { VolumeId: string } = {
    VolumeId: "vol-0a1b2c3d4e5f60718",
    Size: 8,
    AvailabilityZone: VOLUME_ZONE,
    VolumeType: "gp3",
  };

  it("flags a volume CreateVolume reports unencrypted, and not an encrypted one", async () => {
    const [finding, ...rest] = await offlineFindings(changeEventOf(createVolumeRecord(volume, false)));
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      resource: ref(volume.VolumeId),
      confirmed: false,
      summary: `Volume ${volume.VolumeId} was created unencrypted`,
      evidence: { subject: "volume", volumeId: volume.VolumeId, availabilityZone: VOLUME_ZONE, sizeGiB: 8, attachedTo: null },
    });
    expect(await offlineFindings(changeEventOf(createVolumeRecord(volume, true)))).toEqual([]);
  });

  it("flags a launch that explicitly asks for an unencrypted volume, not one that leaves encryption unsaid", async () => {
    const mapping = {
      items: [
        { deviceName: "/dev/xvda", ebs: { volumeSize: 8, deleteOnTermination: true } },
        { deviceName: "/dev/sdb", ebs: { volumeSize: 100, encrypted: "false" } },
        { deviceName: "/dev/sdc", noDevice: {} },
      ],
    };
    const [finding] = await offlineFindings(changeEventOf(runInstancesRecord(["i-0aaa1111bbbb2222c"], mapping)));
    expect(finding).toMatchObject({
      resource: instanceRef("i-0aaa1111bbbb2222c", MOTO_ACCOUNT, MOTO_REGION),
      confirmed: false,
      evidence: { subject: "launch", instanceId: "i-0aaa1111bbbb2222c", devices: ["/dev/sdb"] },
    });
    expect(finding?.summary).toContain("may still have encrypted them");
    const unsaid = { items: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 8 } }] };
    expect(await offlineFindings(changeEventOf(runInstancesRecord(["i-0aaa1111bbbb2222c"], unsaid)))).toEqual([]);
    expect(await offlineFindings(changeEventOf(runInstancesRecord(["i-0aaa1111bbbb2222c"], null)))).toEqual([]);
  });

  it("plans a notification for offline findings: whether the volume is attached is unknown", async () => {
    const [finding] = await offlineFindings(changeEventOf(createVolumeRecord(volume, false)));
    if (!finding) throw new Error("no finding");
    const plan = control.plan(finding, control.options.parse({ replaceDetached: true }));
    expect(plan).toMatchObject({ notifyOnly: true, params: { action: "notify" } });
    expect(plan.summary).toContain("whether it is attached is unknown");
  });
});

describe("ebs-volume-encrypted: live detection on moto", () => {
  it("confirms a detached unencrypted volume, with its tags", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    const finding = onlyViolation(await control.detect({ resource, event: changeEventOf(record) }, live()));
    expect(finding).toMatchObject({
      confirmed: true,
      summary: `Volume ${resource.id} (detached) is not encrypted`,
      evidence: { subject: "volume", volumeId: resource.id, availabilityZone: VOLUME_ZONE, sizeGiB: 2, attachedTo: [] },
    });
    expect(finding.tags.Name).toMatch(/^patient-data-/);
  });

  it("trusts live state: an encrypted volume (default encryption, say) and a deleted one no longer apply", async () => {
    const encrypted = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: VOLUME_ZONE, Size: 1, Encrypted: true }));
    const encryptedId = encrypted.VolumeId ?? "";
    const lateEvent = changeEventOf(createVolumeRecord({ ...encrypted, Encrypted: false }));
    expect(onlyCleared(await control.detect({ resource: ref(encryptedId), event: lateEvent }, live()))).toBe(
      `volume ${encryptedId} is encrypted`,
    );
    const { resource } = await scenario.arrangeViolation(moto);
    await scenario.makeCompliant(moto, resource);
    expect(onlyCleared(await control.detect({ resource }, live()))).toBe(`volume ${resource.id} no longer exists`);
  });

  it("reads a launched instance's volumes and flags the unencrypted ones, attached", async () => {
    const launched = await ec2.send(
      new RunInstancesCommand({
        ImageId: TEST_AMI,
        MinCount: 1,
        MaxCount: 1,
        BlockDeviceMappings: [
          { DeviceName: "/dev/sdb", Ebs: { VolumeSize: 4, Encrypted: false } },
          { DeviceName: "/dev/sdc", Ebs: { VolumeSize: 4, Encrypted: true } },
        ],
      }),
    );
    const instanceId = launched.Instances?.[0]?.InstanceId ?? "";
    const event = changeEventOf(runInstancesRecord([instanceId], { items: [{ deviceName: "/dev/sdb", ebs: { encrypted: false } }] }));
    const [resource] = runInstancesTrigger.resources(event);
    if (!resource) throw new Error("no instance");
    const verdicts = await control.detect({ resource, event }, live());
    expect(verdicts.length).toBeGreaterThan(0);
    for (const verdict of verdicts) {
      if (verdict.kind !== "violation") throw new Error(`expected violations, got ${JSON.stringify(verdict)}`);
      expect(verdict.finding.resource.type).toBe("AWS::EC2::Volume");
      expect(verdict.finding.evidence).toMatchObject({ attachedTo: [instanceId] });
      expect((await describeVolume(ec2, verdict.finding.resource.id))?.Encrypted).toBe(false);
      const plan = control.plan(verdict.finding, control.options.parse({ replaceDetached: true }));
      expect(plan).toMatchObject({ notifyOnly: true });
      expect(plan.summary).toContain(`attached to ${instanceId}`);
    }
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    expect(onlyCleared(await control.detect({ resource, event }, live()))).toContain("no longer exists or is terminated");
  });
});

describe("ebs-volume-encrypted: plans", () => {
  it("is notify-only by default, and says how to fix it by hand", async () => {
    const { resource } = await scenario.arrangeViolation(moto);
    const ctx = live();
    const plan = control.plan(onlyViolation(await control.detect({ resource }, ctx)), ctx.options);
    expect(plan).toMatchObject({ notifyOnly: true, params: { action: "notify", subject: `Volume ${resource.id}` } });
    expect(plan.steps.join(" ")).toContain("cannot be encrypted in place");
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "NotifyOnlyPlanError" });
  });

  it("with replaceDetached, plans an encrypted copy that keeps the original, and says what it costs", async () => {
    const { resource } = await scenario.arrangeViolation(moto);
    const ctx = live({ replaceDetached: true, kmsKeyId: "alias/ebs-phi" });
    const finding = onlyViolation(await control.detect({ resource }, ctx));
    const plan = control.plan(finding, ctx.options);
    expect(plan).toMatchObject({
      summary: `Replace detached volume ${resource.id} with an encrypted copy (KMS key alias/ebs-phi); keep the original, tagged as superseded.`,
      reversible: true,
      params: { action: "replace", volumeId: resource.id, region: MOTO_REGION, kmsKeyId: "alias/ebs-phi" },
    });
    expect(plan.notifyOnly).toBeUndefined();
    expect(plan.steps.join(" ")).toContain("one more volume of 2 GiB and two snapshots");
    expect(control.plan(structuredClone(finding), ctx.options)).toEqual(plan);
  });
});

describe("ebs-volume-encrypted: replacing a detached volume on moto", () => {
  async function replacementPlan() {
    const kms = await moto.clients.kms(MOTO_REGION);
    const key = await kms.send(new CreateKeyCommand({ Description: "ebs phi" }));
    const keyId = key.KeyMetadata?.KeyId ?? "";
    const { resource } = await scenario.arrangeViolation(moto);
    const ctx = live({ replaceDetached: true, kmsKeyId: keyId });
    const plan = control.plan(onlyViolation(await control.detect({ resource }, ctx)), ctx.options);
    return { resource, ctx, plan, keyId, keyArn: key.KeyMetadata?.Arn };
  }

  async function snapshotsFor(volumeId: string) {
    const response = await ec2.send(
      new DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: [{ Name: `tag:${REPLACES_TAG}`, Values: [volumeId] }] }),
    );
    return response.Snapshots ?? [];
  }

  it("creates an encrypted copy with the key, keeps and tags the original, verifies, and rollback removes the copy", async () => {
    const { resource, ctx, plan, keyId, keyArn } = await replacementPlan();
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ volumeId: resource.id, region: MOTO_REGION, supersededBy: null });
    await scenario.assertFixed(moto, resource);
    const [replacement] = await replacementsOf(ec2, resource.id);
    // moto echoes the key as it was given; AWS answers with its ARN.
    expect([keyId, keyArn]).toContain(replacement?.KmsKeyId);
    expect(tagOf(replacement, TEST_ENGINE_TAG)).toBe("ebs-volume-encrypted");
    const snapshots = await snapshotsFor(resource.id);
    expect(snapshots.map((s) => s.Encrypted).sort()).toEqual([false, true]);
    expect(applied.after).toMatchObject({ supersededBy: replacement?.VolumeId, replacement: { volumeId: replacement?.VolumeId } });
    expect(await control.verify(plan, ctx)).toMatchObject({
      ok: true,
      state: { replacementVolumeId: replacement?.VolumeId, replacementEncrypted: true },
    });
    expect(onlyCleared(await control.detect({ resource }, live()))).toContain(`superseded by its encrypted copy ${replacement?.VolumeId}`);

    const again = await control.apply(plan, ctx);
    expect(again.after).toEqual(again.before);
    await control.rollback(plan, again.before, ctx);
    expect(await replacementsOf(ec2, resource.id)).toHaveLength(1);

    await control.rollback(plan, applied.before, ctx);
    await scenario.assertUnchanged(moto, resource);
    expect(await snapshotsFor(resource.id)).toEqual([]);
    expect(await control.verify(plan, ctx)).toMatchObject({
      ok: false,
      detail: `volume ${resource.id} is not encrypted and has no replacement`,
    });
  });

  it("refuses a volume attached since the finding, and one deleted since", async () => {
    const { resource, ctx, plan } = await replacementPlan();
    const launched = await ec2.send(
      new RunInstancesCommand({ ImageId: TEST_AMI, MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: VOLUME_ZONE } }),
    );
    await ec2.send(new AttachVolumeCommand({ VolumeId: resource.id, InstanceId: launched.Instances?.[0]?.InstanceId, Device: "/dev/sdf" }));
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({
      name: "VolumeReplacementError",
      message: expect.stringContaining("only detached volumes"),
    });
    expect(await replacementsOf(ec2, resource.id)).toEqual([]);

    const other = await replacementPlan();
    await ec2.send(new DeleteVolumeCommand({ VolumeId: other.resource.id }));
    await expect(control.apply(other.plan, other.ctx)).rejects.toMatchObject({ name: "ResourceGoneError" });
  });

  it("refuses to delete a replacement someone already attached, and a captured state for another volume", async () => {
    const { resource, ctx, plan } = await replacementPlan();
    const applied = await control.apply(plan, ctx);
    await expect(control.rollback(plan, { ...applied.before, volumeId: "vol-0other" }, ctx)).rejects.toThrow(/field volumeId/);
    const [replacement] = await replacementsOf(ec2, resource.id);
    const launched = await ec2.send(
      new RunInstancesCommand({ ImageId: TEST_AMI, MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: VOLUME_ZONE } }),
    );
    await ec2.send(
      new AttachVolumeCommand({ VolumeId: replacement?.VolumeId, InstanceId: launched.Instances?.[0]?.InstanceId, Device: "/dev/sdf" }),
    );
    await expect(control.rollback(plan, applied.before, ctx)).rejects.toMatchObject({ name: "VolumeReplacementError" });
    expect(tagOf(await describeVolume(ec2, resource.id), SUPERSEDED_TAG)).toBe(replacement?.VolumeId);
  });
});

describe("ebs-volume-encrypted: sweep", () => {
  it("lists the region's volumes once per unit of work, and detection sorts them", async () => {
    const plain = ref((await createPlainVolume(ec2)).VolumeId);
    const encrypted = ref(
      (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: VOLUME_ZONE, Size: 1, Encrypted: true }))).VolumeId ?? "",
    );
    const ctx = { ...live(), reads: new ReadCache() };
    const swept: ResourceRef[] = [];
    for await (const resource of control.sweep(ctx)) swept.push(resource);
    expect(swept).toEqual(expect.arrayContaining([plain, encrypted]));
    const misses = ctx.reads.stats.misses;
    for await (const resource of control.sweep(ctx)) expect(resource.type).toBe("AWS::EC2::Volume");
    expect(ctx.reads.stats.misses).toBe(misses);
    expect(onlyViolation(await control.detect({ resource: plain }, ctx)).confirmed).toBe(true);
    expect(onlyCleared(await control.detect({ resource: encrypted }, ctx))).toContain("is encrypted");
  });
});

describe.runIf(corpusAvailable())("ebs-volume-encrypted: real corpus records", () => {
  it("does not flag the corpus's CreateVolume, which reports an encrypted volume", async () => {
    const events = corpusEventsFor(createVolumeTrigger);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(createVolumeTrigger.resources(event).map((r) => r.id)).toEqual(["vol-97c02b3e"]);
      expect(await offlineFindings(event)).toEqual([]);
    }
  });

  it("flags exactly the launches that explicitly ask for an unencrypted device", async () => {
    // The xz-image launches set encrypted: false on /dev/sda1; one Cloud Custodian launch sets it on /dev/sdb.
    // Every other launch leaves encryption unsaid, which proves nothing.
    const expected: Record<string, string[]> = {
      "i-00000000000000000": ["/dev/sda1"],
      "i-00000000000000001": ["/dev/sda1"],
      "i-784cdacd": ["/dev/sdb"],
      "i-7b4cdace": ["/dev/sdb"],
    };
    const flagged = new Set<string>();
    const events = corpusEventsFor(runInstancesTrigger);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      for (const finding of await offlineFindings(event)) {
        expect(finding.evidence.devices, `${event.origin} ${finding.resource.id}`).toEqual(expected[finding.resource.id]);
        flagged.add(finding.resource.id);
      }
    }
    expect([...flagged].sort()).toEqual(Object.keys(expected).sort());
  });
});
