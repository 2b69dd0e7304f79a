import {
  DescribeSecurityGroupsCommand,
  paginateDescribeNetworkInterfaces,
  paginateDescribeSecurityGroupRules,
  paginateDescribeSecurityGroups,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import type { ChangeEvent, LiveContext, ResourceRef } from "@hipaa-remediate/core";
import { resolveAccount } from "./account";
import { isNotFound } from "./aws-errors";
import { ResourceGoneError } from "./errors";
import { stringOf } from "./json-fields";
import { defineResourceKind } from "./resource-kind";
import { ruleFromApi, rulesFromAuthorizeResponse, type IngressRule } from "./security-group-rules";
import { tagMap, type TagMap } from "./tags";

export const SECURITY_GROUP_TYPE = "AWS::EC2::SecurityGroup";

const GROUP_ID = /^sg-[0-9a-f]+$/;

export function securityGroupRef(groupId: string, account: string, region: string): ResourceRef {
  return {
    type: SECURITY_GROUP_TYPE,
    id: groupId,
    arn: `arn:aws:ec2:${region}:${account}:security-group/${groupId}`,
    account,
    region,
  };
}

export function isGroupId(id: string): boolean {
  return GROUP_ID.test(id);
}

/**
 * The group an EC2 security group event names: `groupId` in the request, else the group of the rules in the
 * response. Older flat requests may name only `groupName` (a group of the default VPC); the ref then carries the
 * name as its id, and live detection resolves it to the group's id.
 */
export function securityGroupRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  const responseGroup = rulesFromAuthorizeResponse(event.response).find((r) => r.groupId !== null)?.groupId ?? undefined;
  const id = stringOf(event.request?.groupId) ?? responseGroup ?? stringOf(event.request?.groupName);
  return id ? [securityGroupRef(id, event.account, event.region)] : [];
}

/** What a group is, as the controls need it: its real id, VPC and tags. */
export type LiveGroup = { groupId: string; groupName: string; vpcId: string | null; tags: TagMap };

/**
 * The group the ref names (by id, or by name in the default VPC for name-only refs), or undefined when it is gone.
 */
export async function readSecurityGroup(ec2: EC2Client, ref: ResourceRef): Promise<LiveGroup | undefined> {
  const byId = isGroupId(ref.id);
  try {
    const response = await ec2.send(new DescribeSecurityGroupsCommand(byId ? { GroupIds: [ref.id] } : { GroupNames: [ref.id] }));
    const group = response.SecurityGroups?.find((g) => (byId ? g.GroupId === ref.id : g.GroupName === ref.id));
    if (!group?.GroupId) return undefined;
    return { groupId: group.GroupId, groupName: group.GroupName ?? "", vpcId: group.VpcId ?? null, tags: tagMap(group.Tags) };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** `readSecurityGroup` through the unit of work's cache, so detection and the kind's tags describe a group once. */
export function readSecurityGroupShared(ctx: LiveContext, ref: ResourceRef): Promise<LiveGroup | undefined> {
  return ctx.reads.read(`security-group:${ref.arn}`, async () => readSecurityGroup(await ctx.aws.ec2(ref.region), ref));
}

/** Every ingress rule of the group that has a CIDR source. DescribeSecurityGroupRules answers [] for a gone group. */
export async function readIngressRules(ec2: EC2Client, groupId: string): Promise<IngressRule[]> {
  const rules: IngressRule[] = [];
  const pages = paginateDescribeSecurityGroupRules({ client: ec2 }, { Filters: [{ Name: "group-id", Values: [groupId] }] });
  for await (const page of pages) {
    for (const api of page.SecurityGroupRules ?? []) {
      if (api.GroupId === groupId) rules.push(...ruleFromApi(api));
    }
  }
  return rules;
}

/** Same as `readIngressRules`, but a gone group is a ResourceGoneError (for apply, verify and rollback). */
export async function requireIngressRules(ec2: EC2Client, groupId: string, region: string): Promise<IngressRule[]> {
  const group = await readSecurityGroup(ec2, securityGroupRef(groupId, "", region));
  if (!group) throw new ResourceGoneError(`security group ${groupId} no longer exists`);
  return readIngressRules(ec2, groupId);
}

/** What sits behind a group: instances by id, other interfaces (load balancers, databases, Lambda) by description. */
export type GroupAttachments = { instances: string[]; otherInterfaces: string[] };

export async function groupAttachments(ec2: EC2Client, groupId: string): Promise<GroupAttachments> {
  const instances = new Set<string>();
  const otherInterfaces: string[] = [];
  const pages = paginateDescribeNetworkInterfaces({ client: ec2 }, { Filters: [{ Name: "group-id", Values: [groupId] }] });
  for await (const page of pages) {
    for (const eni of page.NetworkInterfaces ?? []) {
      const instanceId = eni.Attachment?.InstanceId;
      if (instanceId) instances.add(instanceId);
      else if (eni.NetworkInterfaceId) {
        otherInterfaces.push(eni.Description ? `${eni.NetworkInterfaceId} (${eni.Description})` : eni.NetworkInterfaceId);
      }
    }
  }
  return { instances: [...instances].sort(), otherInterfaces: otherInterfaces.sort() };
}

async function* listSecurityGroups(ctx: LiveContext): AsyncGenerator<ResourceRef> {
  const account = await resolveAccount(ctx);
  for (const region of ctx.regions) {
    for await (const page of paginateDescribeSecurityGroups({ client: await ctx.aws.ec2(region) }, {})) {
      for (const group of page.SecurityGroups ?? []) {
        if (group.GroupId) yield securityGroupRef(group.GroupId, group.OwnerId ?? account, region);
      }
    }
  }
}

/** EC2 security groups: listed once per region and sweep run, tagged once per unit of work, for every group control. */
export const securityGroups = defineResourceKind({
  type: SECURITY_GROUP_TYPE,
  noun: "security group",
  list: listSecurityGroups,
  async tags(ref, ctx) {
    const group = await readSecurityGroupShared(ctx, ref);
    if (!group) throw new ResourceGoneError(`security group ${ref.id} no longer exists`);
    return group.tags;
  },
});
