import {
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  paginateDescribeInstances,
  waitUntilInstanceStopped,
  type EC2Client,
  type GroupIdentifier,
  type Instance,
  type SecurityGroup,
} from "@aws-sdk/client-ec2";
import type { ChangeEvent, JsonObject, LiveContext, ResourceRef, VerifyResult } from "@hipaa-remediate/core";
import { z } from "zod";
import { resolveAccount } from "./account";
import { instanceRef } from "./arn";
import { hasErrorCode, isNotFound } from "./aws-errors";
import { parseControlData } from "./control-data";
import { ResourceGoneError } from "./errors";
import { booleanOf, objectAt, objectsOf, stringOf, stringsOf } from "./json-fields";
import { tagMap, type TagMap } from "./tags";

/**
 * Containment of an EC2 instance, shared by every control that has to cut an instance off: swap its security
 * groups for an isolation group that allows no traffic (reversible, keeps disks and memory for forensics), or
 * stop it. Either way the instance is tagged with who contained it and when.
 */

/** One per VPC, created on first use and reused: security groups belong to a VPC. */
export const ISOLATION_GROUP_NAME = "hipaa-remediate-isolation";
const ISOLATION_GROUP_DESCRIPTION = "hipaa-remediate quarantine: no inbound or outbound traffic";
/** Records which control contained the instance and when, for whoever finds it isolated. */
export const QUARANTINE_TAG_KEY = "hipaa-remediate:quarantined";

/** Instance states in which the instance exists and can be contained. */
const LIVE_STATES = ["pending", "running", "stopping", "stopped"];
const STOPPED_STATES = new Set(["stopping", "stopped"]);

export class ContainmentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ContainmentError";
  }
}

export type ContainmentAction = "quarantine" | "stop";

/** What a plan needs to contain one instance; pure data, so it can sit in a plan. */
export type ContainmentParams = {
  instanceId: string;
  region: string;
  action: ContainmentAction;
  isolationGroupName: string;
  reasonTagKey: string;
  /** The control asking; written into the reason tag. */
  control: string;
};

export const containmentParamsSchema = z.object({
  instanceId: z.string().regex(/^i-[0-9a-f]+$/, "expected an instance id such as i-0abc123"),
  region: z.string().min(1),
  action: z.enum(["quarantine", "stop"]),
  isolationGroupName: z.string().min(1),
  reasonTagKey: z.string().min(1),
  control: z.string().min(1),
});

export function containmentParams(control: string, resource: ResourceRef, action: ContainmentAction): ContainmentParams {
  return {
    instanceId: resource.id,
    region: resource.region,
    action,
    isolationGroupName: ISOLATION_GROUP_NAME,
    reasonTagKey: QUARANTINE_TAG_KEY,
    control,
  };
}

/** The plan's summary and steps, in the words an approver reads in Slack. */
export function describeContainment(params: ContainmentParams): { summary: string; steps: string[] } {
  const { instanceId, isolationGroupName, reasonTagKey } = params;
  const record = `Record the current security groups and state of ${instanceId}, for rollback.`;
  const tag = `Tag ${instanceId} with ${reasonTagKey} = ${params.control}@<time>, and with the engine's tag.`;
  if (params.action === "stop") {
    return {
      summary: `Stop instance ${instanceId}.`,
      steps: [record, `StopInstances ${instanceId}; its disks are kept.`, tag],
    };
  }
  return {
    summary: `Quarantine instance ${instanceId}: replace its security groups with ${isolationGroupName}, which allows no traffic.`,
    steps: [
      record,
      `Find or create security group ${isolationGroupName} in the instance's VPC, with no inbound and no outbound rules.`,
      `Replace every security group of ${instanceId} with ${isolationGroupName}.`,
      tag,
    ],
  };
}

/** IAM actions containment needs for the given actions, for a control's `permissions`. */
export function containmentPermissions(actions: readonly ContainmentAction[]): { apply: string[]; rollback: string[] } {
  const apply = ["ec2:DescribeInstances", "ec2:CreateTags"];
  const rollback = ["ec2:DescribeInstances", "ec2:CreateTags", "ec2:DeleteTags"];
  if (actions.includes("quarantine")) {
    const modify = ["ec2:ModifyInstanceAttribute", "ec2:ModifyNetworkInterfaceAttribute"];
    apply.push(
      "ec2:DescribeSecurityGroups",
      "ec2:CreateSecurityGroup",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupEgress",
      ...modify,
    );
    rollback.push(...modify);
  }
  if (actions.includes("stop")) {
    apply.push("ec2:StopInstances");
    rollback.push("ec2:StartInstances");
  }
  return { apply, rollback };
}

export type GroupRef = { id: string; name: string };

/** The security groups on one network interface. */
export type InterfaceGroups = { networkInterfaceId: string; subnetId: string | null; groups: GroupRef[] };

/** An instance as containment and detection see it. */
export interface LiveInstance {
  instanceId: string;
  ownerId: string | undefined;
  state: string;
  vpcId: string | undefined;
  /** The primary subnet first, then those of further interfaces. */
  subnetIds: string[];
  publicIps: string[];
  interfaces: InterfaceGroups[];
  tags: TagMap;
}

function groupRefs(groups: readonly GroupIdentifier[] | undefined): GroupRef[] {
  return (groups ?? []).flatMap((g) => (g.GroupId ? [{ id: g.GroupId, name: g.GroupName ?? "" }] : []));
}

function toLiveInstance(instance: Instance & { InstanceId: string }, ownerId: string | undefined): LiveInstance {
  const enis = [...(instance.NetworkInterfaces ?? [])].sort((a, b) => (a.Attachment?.DeviceIndex ?? 0) - (b.Attachment?.DeviceIndex ?? 0));
  const instanceGroups = groupRefs(instance.SecurityGroups);
  const interfaces = enis.flatMap((eni): InterfaceGroups[] => {
    if (!eni.NetworkInterfaceId) return [];
    // With one interface, ModifyInstanceAttribute is the documented way to change groups and the instance's own
    // list is authoritative (emulators update only that list); with several, each interface carries its own.
    const groups = enis.length === 1 && instanceGroups.length > 0 ? instanceGroups : groupRefs(eni.Groups);
    return [{ networkInterfaceId: eni.NetworkInterfaceId, subnetId: eni.SubnetId ?? null, groups }];
  });
  const subnetIds = [instance.SubnetId, ...enis.map((eni) => eni.SubnetId)].filter((id): id is string => Boolean(id));
  const publicIps = [instance.PublicIpAddress, ...enis.map((eni) => eni.Association?.PublicIp)].filter((ip): ip is string => Boolean(ip));
  return {
    instanceId: instance.InstanceId,
    ownerId,
    state: instance.State?.Name ?? "unknown",
    vpcId: instance.VpcId,
    subnetIds: [...new Set(subnetIds)],
    publicIps: [...new Set(publicIps)],
    interfaces,
    tags: tagMap(instance.Tags),
  };
}

/** The instance as it is now, or undefined when it does not exist or is terminated. */
export async function readInstance(ec2: EC2Client, instanceId: string): Promise<LiveInstance | undefined> {
  try {
    const response = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    for (const reservation of response.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        if (instance.InstanceId !== instanceId) continue;
        const live = toLiveInstance({ ...instance, InstanceId: instanceId }, reservation.OwnerId);
        return LIVE_STATES.includes(live.state) ? live : undefined;
      }
    }
    return undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** True when every interface of the instance has exactly the isolation group and nothing else. */
export function isQuarantined(instance: LiveInstance, isolationGroupName = ISOLATION_GROUP_NAME): boolean {
  return (
    instance.interfaces.length > 0 &&
    instance.interfaces.every((eni) => eni.groups.length === 1 && eni.groups[0]?.name === isolationGroupName)
  );
}

export function isStopped(instance: LiveInstance): boolean {
  return STOPPED_STATES.has(instance.state);
}

/** Already contained the way `action` would contain it: applying again would change nothing. */
export function isContained(instance: LiveInstance, action: ContainmentAction): boolean {
  return action === "stop" ? isStopped(instance) : isQuarantined(instance);
}

/** What apply captures, so rollback can put back exactly the groups, state and tags that were there. */
export type InstanceSnapshot = {
  instanceId: string;
  state: string;
  vpcId: string | null;
  interfaces: { networkInterfaceId: string; groupIds: string[] }[];
  /** The value each tag the engine writes had before, or null where the tag was absent. */
  tags: { [key: string]: string | null };
};

const instanceSnapshotSchema = z.object({
  instanceId: z.string().min(1),
  state: z.string().min(1),
  vpcId: z.string().min(1).nullable(),
  interfaces: z.array(z.object({ networkInterfaceId: z.string().min(1), groupIds: z.array(z.string().min(1)) })),
  tags: z.record(z.string(), z.string().nullable()),
});

function snapshot(instance: LiveInstance, tagKeys: readonly string[]): InstanceSnapshot {
  return {
    instanceId: instance.instanceId,
    state: instance.state,
    vpcId: instance.vpcId ?? null,
    interfaces: instance.interfaces.map((eni) => ({
      networkInterfaceId: eni.networkInterfaceId,
      groupIds: eni.groups.map((g) => g.id),
    })),
    tags: Object.fromEntries(tagKeys.map((key) => [key, instance.tags[key] ?? null])),
  };
}

async function requireInstance(ec2: EC2Client, instanceId: string): Promise<LiveInstance> {
  const instance = await readInstance(ec2, instanceId);
  if (!instance) throw new ResourceGoneError(`instance ${instanceId} no longer exists or is terminated`);
  return instance;
}

async function findGroup(ec2: EC2Client, vpcId: string, name: string): Promise<SecurityGroup | undefined> {
  const response = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: "vpc-id", Values: [vpcId] },
        { Name: "group-name", Values: [name] },
      ],
    }),
  );
  return response.SecurityGroups?.find((group) => group.GroupName === name && group.GroupId);
}

/** Strips every rule, including the allow-all egress rule AWS adds to a new group and any rule added since. */
async function revokeAllRules(ec2: EC2Client, group: SecurityGroup & { GroupId: string }): Promise<void> {
  if (group.IpPermissions && group.IpPermissions.length > 0) {
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: group.GroupId, IpPermissions: group.IpPermissions }));
  }
  if (group.IpPermissionsEgress && group.IpPermissionsEgress.length > 0) {
    await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: group.GroupId, IpPermissions: group.IpPermissionsEgress }));
  }
}

/** The isolation group of a VPC, created when missing, always without rules. */
export async function ensureIsolationGroup(ec2: EC2Client, vpcId: string, name: string, engineTagKey: string): Promise<string> {
  let group = await findGroup(ec2, vpcId, name);
  if (!group) {
    try {
      await ec2.send(
        new CreateSecurityGroupCommand({
          VpcId: vpcId,
          GroupName: name,
          Description: ISOLATION_GROUP_DESCRIPTION,
          TagSpecifications: [{ ResourceType: "security-group", Tags: [{ Key: engineTagKey, Value: "isolation" }] }],
        }),
      );
    } catch (error) {
      // Another invocation created it first: use theirs.
      if (!hasErrorCode(error, "InvalidGroup.Duplicate")) throw error;
    }
    group = await findGroup(ec2, vpcId, name);
  }
  const groupId = group?.GroupId;
  if (!group || !groupId) throw new ContainmentError(`security group ${name} in ${vpcId} was created but cannot be found`);
  await revokeAllRules(ec2, { ...group, GroupId: groupId });
  return groupId;
}

/** Gives each interface the groups in `groupIds`; one interface goes through the instance attribute. */
async function setGroups(
  ec2: EC2Client,
  instanceId: string,
  interfaces: readonly { networkInterfaceId: string; groupIds: string[] }[],
): Promise<void> {
  const [only] = interfaces;
  if (interfaces.length === 1 && only) {
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, Groups: only.groupIds }));
    return;
  }
  // AWS refuses ModifyInstanceAttribute Groups for an instance with several interfaces.
  for (const eni of interfaces) {
    await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.networkInterfaceId, Groups: eni.groupIds }));
  }
}

/** Puts back the captured values of the engine's tags: the old value, or no tag at all. */
async function restoreTags(ec2: EC2Client, instanceId: string, previous: InstanceSnapshot["tags"]): Promise<void> {
  const entries = Object.entries(previous);
  const toDelete = entries.filter(([, value]) => value === null).map(([key]) => ({ Key: key }));
  const toPut = entries.flatMap(([key, value]) => (value === null ? [] : [{ Key: key, Value: value }]));
  if (toDelete.length > 0) await ec2.send(new DeleteTagsCommand({ Resources: [instanceId], Tags: toDelete }));
  if (toPut.length > 0) await ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: toPut }));
}

export interface ContainmentMarks {
  /** The engine's tag key (ctx.engine.tagKey). */
  engineTagKey: string;
  /** When the containment happens (ctx.now()). */
  now: Date;
}

/**
 * Contains the instance as `params` says, re-reading it first. An instance already contained is left alone and
 * reported with `before` equal to `after`, so a redelivered apply neither fails nor records a bogus rollback state.
 */
export async function containInstance(
  ec2: EC2Client,
  params: ContainmentParams,
  marks: ContainmentMarks,
): Promise<{ before: InstanceSnapshot; after: InstanceSnapshot }> {
  const tagKeys = [params.reasonTagKey, marks.engineTagKey];
  const instance = await requireInstance(ec2, params.instanceId);
  const before = snapshot(instance, tagKeys);
  if (isContained(instance, params.action)) return { before, after: before };

  if (params.action === "stop") {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [params.instanceId] }));
  } else {
    if (!instance.vpcId) throw new ContainmentError(`instance ${params.instanceId} is not in a VPC; it cannot be quarantined`);
    if (instance.interfaces.length === 0) {
      throw new ContainmentError(`instance ${params.instanceId} reports no network interface to quarantine`);
    }
    const isolationId = await ensureIsolationGroup(ec2, instance.vpcId, params.isolationGroupName, marks.engineTagKey);
    const isolated = before.interfaces.map((eni) => ({ networkInterfaceId: eni.networkInterfaceId, groupIds: [isolationId] }));
    await setGroups(ec2, params.instanceId, isolated);
  }
  await ec2.send(
    new CreateTagsCommand({
      Resources: [params.instanceId],
      Tags: [
        { Key: params.reasonTagKey, Value: `${params.control}@${marks.now.toISOString()}` },
        { Key: marks.engineTagKey, Value: params.control },
      ],
    }),
  );
  return { before, after: snapshot(await requireInstance(ec2, params.instanceId), tagKeys) };
}

async function startInstance(ec2: EC2Client, instanceId: string): Promise<void> {
  try {
    await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
  } catch (error) {
    // An instance still stopping cannot be started yet: wait for it to finish stopping, then start it.
    if (!hasErrorCode(error, "IncorrectInstanceState")) throw error;
    await waitUntilInstanceStopped({ client: ec2, maxWaitTime: 600 }, { InstanceIds: [instanceId] });
    await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
  }
}

/** Undoes `containInstance` from the state it captured: groups, running state and the engine's tags. */
export async function releaseInstance(ec2: EC2Client, params: ContainmentParams, before: JsonObject): Promise<void> {
  const previous = parseControlData(instanceSnapshotSchema, before, `state captured before containing ${params.instanceId}`);
  if (previous.instanceId !== params.instanceId) {
    throw new ContainmentError(`field instanceId: captured state is for ${previous.instanceId}, the plan is for ${params.instanceId}`);
  }
  const instance = await requireInstance(ec2, params.instanceId);
  if (params.action === "stop") {
    if (!STOPPED_STATES.has(previous.state) && isStopped(instance)) await startInstance(ec2, params.instanceId);
  } else {
    const attached = new Set(instance.interfaces.map((eni) => eni.networkInterfaceId));
    // An interface detached since the quarantine has nothing to restore.
    await setGroups(
      ec2,
      params.instanceId,
      previous.interfaces.filter((eni) => attached.has(eni.networkInterfaceId)),
    );
  }
  await restoreTags(ec2, params.instanceId, previous.tags);
}

/** Reads the instance back and checks it is contained as `params` says. */
export async function verifyContainment(ec2: EC2Client, params: ContainmentParams): Promise<VerifyResult> {
  const instance = await readInstance(ec2, params.instanceId);
  if (!instance) {
    return { ok: false, state: { instanceId: params.instanceId, exists: false }, detail: `instance ${params.instanceId} no longer exists` };
  }
  const state: JsonObject = {
    instanceId: instance.instanceId,
    state: instance.state,
    interfaces: instance.interfaces.map((eni) => ({ networkInterfaceId: eni.networkInterfaceId, groupIds: eni.groups.map((g) => g.id) })),
  };
  if (params.action === "stop") {
    return isStopped(instance) ? { ok: true, state } : { ok: false, state, detail: `instance ${params.instanceId} is ${instance.state}` };
  }
  const isolation = instance.vpcId ? await findGroup(ec2, instance.vpcId, params.isolationGroupName) : undefined;
  if (!isolation?.GroupId) {
    return { ok: false, state, detail: `security group ${params.isolationGroupName} does not exist in the instance's VPC` };
  }
  const stray = instance.interfaces.filter((eni) => eni.groups.length !== 1 || eni.groups[0]?.id !== isolation.GroupId);
  const rules = (isolation.IpPermissions?.length ?? 0) + (isolation.IpPermissionsEgress?.length ?? 0);
  const withGroup = { ...state, isolationGroupId: isolation.GroupId, isolationGroupRules: rules };
  if (stray.length > 0) {
    const names = stray.map((eni) => eni.networkInterfaceId).join(", ");
    return { ok: false, state: withGroup, detail: `interfaces ${names} have groups other than ${params.isolationGroupName}` };
  }
  if (rules > 0) return { ok: false, state: withGroup, detail: `${params.isolationGroupName} has ${rules} rule(s)` };
  return { ok: true, state: withGroup };
}

/** Every live instance in the sweep's regions. */
export async function* sweepInstances(ctx: LiveContext): AsyncGenerator<ResourceRef> {
  const account = await resolveAccount(ctx);
  for (const region of ctx.regions) {
    const pages = paginateDescribeInstances(
      { client: await ctx.aws.ec2(region) },
      { Filters: [{ Name: "instance-state-name", Values: LIVE_STATES }] },
    );
    for await (const page of pages) {
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (instance.InstanceId) yield instanceRef(instance.InstanceId, reservation.OwnerId ?? account, region);
        }
      }
    }
  }
}

/** What a RunInstances record says about one instance it launched. */
export type LaunchRecord = {
  instanceId: string;
  subnetIds: string[];
  publicIps: string[];
  /** True when the request asked for a public IP on an interface; undefined when it did not say. */
  associatePublicIp: boolean | undefined;
};

const INSTANCE_ID = /^i-[0-9a-f]+$/;

/**
 * The instances a RunInstances record launched, with the network evidence the record carries. The request
 * names the subnet at the top level or per interface; the response repeats it per instance, sometimes with a
 * public IP.
 */
export function launchedInstances(event: ChangeEvent): LaunchRecord[] {
  const request = event.request;
  const requestInterfaces = objectsOf(objectAt(request, "networkInterfaceSet")?.items);
  const requestedSubnets = [...stringsOf(request?.subnetId), ...requestInterfaces.flatMap((eni) => stringsOf(eni.subnetId))];
  const asked = requestInterfaces.map((eni) => booleanOf(eni.associatePublicIpAddress)).filter((v) => v !== undefined);
  const associatePublicIp = asked.length > 0 ? asked.some(Boolean) : undefined;

  return objectsOf(objectAt(event.response, "instancesSet")?.items).flatMap((item): LaunchRecord[] => {
    const instanceId = stringOf(item.instanceId);
    if (!instanceId || !INSTANCE_ID.test(instanceId)) return [];
    const interfaces = objectsOf(objectAt(item, "networkInterfaceSet")?.items);
    const subnetIds = [...stringsOf(item.subnetId), ...interfaces.flatMap((eni) => stringsOf(eni.subnetId)), ...requestedSubnets];
    const publicIps = [
      ...stringsOf(item.publicIp),
      ...stringsOf(item.ipAddress),
      ...interfaces.flatMap((eni) => stringsOf(objectAt(eni, "association")?.publicIp)),
    ];
    return [{ instanceId, subnetIds: [...new Set(subnetIds)], publicIps: [...new Set(publicIps)], associatePublicIp }];
  });
}
