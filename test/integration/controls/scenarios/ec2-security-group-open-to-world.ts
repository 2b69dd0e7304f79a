import { randomUUID } from "node:crypto";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { securityGroupRef } from "../../../../remediations/lib/ec2-security-groups";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION } from "../../../support/moto";

export const SSH_FROM_ANYWHERE: IpPermission = {
  IpProtocol: "tcp",
  FromPort: 22,
  ToPort: 22,
  IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "vendor support" }],
};
export const HTTPS_FROM_ANYWHERE: IpPermission = { IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] };

/** A new group in the default VPC with a unique name (the e2e suite resets moto once per control, not per test). */
export async function createGroup(ec2: EC2Client, prefix = "sg-open-world"): Promise<string> {
  const response = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: `${prefix}-${randomUUID().slice(0, 8)}`, Description: "scenario group" }),
  );
  if (!response.GroupId) throw new Error("moto returned no GroupId");
  return response.GroupId;
}

export async function ingressRules(ec2: EC2Client, groupId: string): Promise<SecurityGroupRule[]> {
  const response = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }));
  return (response.SecurityGroupRules ?? []).filter((r) => !r.IsEgress);
}

/** Authorises one permission at a time (moto's response lists only the last rule of a multi-rule call). */
export async function authorize(ec2: EC2Client, groupId: string, permission: IpPermission): Promise<SecurityGroupRule[]> {
  const response = await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [permission] }));
  return response.SecurityGroupRules ?? [];
}

/** The CloudTrail request body of an AuthorizeSecurityGroupIngress call with `ipPermissions.items[]`. */
export function permissionsRequest(groupId: string, permissions: IpPermission[]): Record<string, unknown> {
  return {
    groupId,
    ipPermissions: {
      items: permissions.map((p) => ({
        ipProtocol: p.IpProtocol,
        fromPort: p.FromPort,
        toPort: p.ToPort,
        groups: {},
        ipRanges: p.IpRanges ? { items: p.IpRanges.map((r) => ({ cidrIp: r.CidrIp, description: r.Description })) } : {},
        ipv6Ranges: p.Ipv6Ranges ? { items: p.Ipv6Ranges.map((r) => ({ cidrIpv6: r.CidrIpv6 })) } : {},
        prefixListIds: {},
      })),
    },
  };
}

/** The CloudTrail response body: `securityGroupRuleSet.items[]` for the rules created. */
export function rulesResponse(rules: SecurityGroupRule[]): Record<string, unknown> {
  return {
    requestId: randomUUID(),
    _return: true,
    securityGroupRuleSet: {
      items: rules.map((r) => ({
        groupOwnerId: MOTO_ACCOUNT,
        groupId: r.GroupId,
        securityGroupRuleId: r.SecurityGroupRuleId,
        isEgress: false,
        ipProtocol: r.IpProtocol,
        fromPort: r.FromPort,
        toPort: r.ToPort,
        ...(r.CidrIpv4 ? { cidrIpv4: r.CidrIpv4 } : {}),
        ...(r.CidrIpv6 ? { cidrIpv6: r.CidrIpv6 } : {}),
      })),
    },
  };
}

export function authorizeRecord(request: Record<string, unknown> | null, response: Record<string, unknown> | null) {
  return cloudTrailRecord({
    eventSource: "ec2.amazonaws.com",
    eventName: "AuthorizeSecurityGroupIngress",
    requestParameters: request,
    responseElements: response,
  });
}

const isSshFromAnywhere = (r: SecurityGroupRule) => r.IpProtocol === "tcp" && r.FromPort === 22 && r.CidrIpv4 === "0.0.0.0/0";
const isHttps = (r: SecurityGroupRule) => r.FromPort === 443 && r.CidrIpv4 === "0.0.0.0/0";

/** A group that already serves HTTPS to everyone, then gets SSH opened to the whole internet. */
export const scenario: ControlScenario = {
  control: "ec2-security-group-open-to-world",

  async arrangeViolation(moto) {
    const ec2 = await moto.clients.ec2(MOTO_REGION);
    const groupId = await createGroup(ec2);
    await authorize(ec2, groupId, HTTPS_FROM_ANYWHERE);
    const created = await authorize(ec2, groupId, SSH_FROM_ANYWHERE);
    const record = authorizeRecord(permissionsRequest(groupId, [SSH_FROM_ANYWHERE]), rulesResponse(created));
    return { record, resource: securityGroupRef(groupId, MOTO_ACCOUNT, MOTO_REGION) };
  },

  async assertFixed(moto, resource: ResourceRef) {
    const rules = await ingressRules(await moto.clients.ec2(resource.region), resource.id);
    expect(rules.filter(isSshFromAnywhere)).toEqual([]);
    expect(rules.filter(isHttps)).toHaveLength(1);
  },

  async assertUnchanged(moto, resource: ResourceRef) {
    const rules = await ingressRules(await moto.clients.ec2(resource.region), resource.id);
    const ssh = rules.filter(isSshFromAnywhere);
    expect(ssh).toHaveLength(1);
    expect(ssh[0]?.Description).toBe("vendor support");
    expect(rules.filter(isHttps)).toHaveLength(1);
    expect(rules).toHaveLength(2);
  },

  async makeCompliant(moto, resource: ResourceRef) {
    const ec2 = await moto.clients.ec2(resource.region);
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: resource.id, IpPermissions: [SSH_FROM_ANYWHERE] }));
  },
};
