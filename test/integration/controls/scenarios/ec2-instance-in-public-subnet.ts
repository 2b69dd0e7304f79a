import { randomUUID } from "node:crypto";
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteRouteCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  RunInstancesCommand,
  type EC2Client,
  type Instance,
  type InstanceNetworkInterfaceSpecification,
} from "@aws-sdk/client-ec2";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { instanceRef } from "../../../../remediations/lib/arn";
import { ISOLATION_GROUP_NAME, QUARANTINE_TAG_KEY } from "../../../../remediations/lib/ec2-quarantine";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION } from "../../../support/moto";

/** Any id works in moto; this one has the shape of a real Amazon Linux AMI. */
export const TEST_AMI = "ami-0abcdef1234567890";
/** The application's own group, which a quarantine replaces and a rollback puts back. */
export const WEB_GROUP_NAME = "web-tier";

export interface TestNetwork {
  vpcId: string;
  subnetId: string;
  /** The application's security group, open to HTTPS from anywhere. */
  webGroupId: string;
  /** Set for a public network: the table that routes 0.0.0.0/0 to the internet gateway. */
  routeTableId?: string;
  internetGatewayId?: string;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`moto returned no ${what}`);
  return value;
}

/**
 * A VPC with one subnet and a web security group. A public network also gets an internet gateway and a route
 * table, associated with the subnet, that sends 0.0.0.0/0 to it; a private one keeps the main table (local only).
 */
export async function createNetwork(ec2: EC2Client, kind: "public" | "private"): Promise<TestNetwork> {
  // VPC ranges may overlap within an account, so every test network can use the same ones.
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.20.0.0/16" }));
  const vpcId = required(vpc.Vpc?.VpcId, "VpcId");
  const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.20.1.0/24" }));
  const subnetId = required(subnet.Subnet?.SubnetId, "SubnetId");
  const group = await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: WEB_GROUP_NAME, Description: "web tier" }));
  const webGroupId = required(group.GroupId, "GroupId");
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: webGroupId,
      IpPermissions: [{ IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
    }),
  );
  if (kind === "private") return { vpcId, subnetId, webGroupId };

  const gateway = await ec2.send(new CreateInternetGatewayCommand({}));
  const internetGatewayId = required(gateway.InternetGateway?.InternetGatewayId, "InternetGatewayId");
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: internetGatewayId, VpcId: vpcId }));
  const table = await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }));
  const routeTableId = required(table.RouteTable?.RouteTableId, "RouteTableId");
  await ec2.send(new CreateRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: "0.0.0.0/0", GatewayId: internetGatewayId }));
  await ec2.send(new AssociateRouteTableCommand({ RouteTableId: routeTableId, SubnetId: subnetId }));
  return { vpcId, subnetId, webGroupId, routeTableId, internetGatewayId };
}

export interface LaunchOptions {
  /** Launch through an interface specification that asks for a public IP. */
  associatePublicIp?: boolean;
  tags?: Record<string, string>;
}

function tagSpecifications(tags: Record<string, string> | undefined) {
  if (!tags) return undefined;
  return [{ ResourceType: "instance" as const, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }];
}

/** Launches one instance in the network's subnet with its web group, the way a console or CLI user would. */
export async function launchInstance(ec2: EC2Client, network: TestNetwork, options: LaunchOptions = {}): Promise<Instance> {
  const interfaces: InstanceNetworkInterfaceSpecification[] | undefined =
    options.associatePublicIp === undefined
      ? undefined
      : [
          {
            DeviceIndex: 0,
            SubnetId: network.subnetId,
            Groups: [network.webGroupId],
            AssociatePublicIpAddress: options.associatePublicIp,
          },
        ];
  const response = await ec2.send(
    new RunInstancesCommand({
      ImageId: TEST_AMI,
      InstanceType: "t3.micro",
      MinCount: 1,
      MaxCount: 1,
      ...(interfaces ? { NetworkInterfaces: interfaces } : { SubnetId: network.subnetId, SecurityGroupIds: [network.webGroupId] }),
      TagSpecifications: tagSpecifications(options.tags),
    }),
  );
  return required(response.Instances?.[0], "instance");
}

/** The request parameters CloudTrail records for a RunInstances call like `launchInstance`'s. */
export function runInstancesRequest(network: TestNetwork, options: LaunchOptions = {}): Record<string, unknown> {
  const request: Record<string, unknown> = {
    instancesSet: { items: [{ imageId: TEST_AMI, minCount: 1, maxCount: 1 }] },
    instanceType: "t3.micro",
    blockDeviceMapping: {},
    monitoring: { enabled: false },
    disableApiTermination: false,
    disableApiStop: false,
    clientToken: randomUUID(),
  };
  if (options.associatePublicIp === undefined) {
    request.subnetId = network.subnetId;
    request.groupSet = { items: [{ groupId: network.webGroupId }] };
  } else {
    request.networkInterfaceSet = {
      items: [
        {
          deviceIndex: 0,
          subnetId: network.subnetId,
          associatePublicIpAddress: options.associatePublicIp,
          groupSet: { items: [{ groupId: network.webGroupId }] },
        },
      ],
    };
  }
  if (options.tags) {
    request.tagSpecificationSet = {
      items: [{ resourceType: "instance", tags: Object.entries(options.tags).map(([key, value]) => ({ key, value })) }],
    };
  }
  return request;
}

/** One `responseElements.instancesSet.items[]` entry, in the shape CloudTrail records for a launched instance. */
export function runInstancesResponseItem(instance: Instance): Record<string, unknown> {
  const eni = instance.NetworkInterfaces?.[0];
  return {
    instanceId: instance.InstanceId,
    imageId: instance.ImageId,
    instanceState: { code: 0, name: "pending" },
    privateDnsName: instance.PrivateDnsName,
    amiLaunchIndex: 0,
    productCodes: {},
    instanceType: instance.InstanceType,
    launchTime: 1740830400000,
    placement: { availabilityZone: instance.Placement?.AvailabilityZone, tenancy: "default" },
    monitoring: { state: "disabled" },
    subnetId: instance.SubnetId,
    vpcId: instance.VpcId,
    privateIpAddress: instance.PrivateIpAddress,
    stateReason: { code: "pending", message: "pending" },
    architecture: "x86_64",
    rootDeviceType: "ebs",
    rootDeviceName: "/dev/xvda",
    blockDeviceMapping: {},
    virtualizationType: "hvm",
    hypervisor: "xen",
    groupSet: { items: (instance.SecurityGroups ?? []).map((g) => ({ groupId: g.GroupId, groupName: g.GroupName })) },
    sourceDestCheck: true,
    networkInterfaceSet: {
      items: eni
        ? [
            {
              networkInterfaceId: eni.NetworkInterfaceId,
              subnetId: eni.SubnetId,
              vpcId: eni.VpcId,
              ownerId: MOTO_ACCOUNT,
              status: "in-use",
              privateIpAddress: eni.PrivateIpAddress,
              sourceDestCheck: true,
              interfaceType: "interface",
              attachment: { attachmentId: eni.Attachment?.AttachmentId, deviceIndex: 0, status: "attaching" },
            },
          ]
        : [],
    },
    ebsOptimized: false,
  };
}

/** The CloudTrail record of a RunInstances call that launched `instances`. */
export function runInstancesRecord(instances: Instance[], request: Record<string, unknown> | null): Record<string, unknown> {
  return cloudTrailRecord({
    eventSource: "ec2.amazonaws.com",
    eventName: "RunInstances",
    requestParameters: request,
    responseElements: {
      requestId: randomUUID(),
      reservationId: `r-${randomUUID().replace(/-/g, "").slice(0, 17)}`,
      ownerId: MOTO_ACCOUNT,
      groupSet: {},
      instancesSet: { items: instances.map(runInstancesResponseItem) },
    },
  });
}

export async function describeOne(ec2: EC2Client, instanceId: string): Promise<Instance> {
  const response = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return required(response.Reservations?.[0]?.Instances?.[0], `instance ${instanceId}`);
}

/** The instance's security groups as `Instances[].SecurityGroups` reports them (what ModifyInstanceAttribute changes in moto). */
export async function instanceGroups(ec2: EC2Client, instanceId: string): Promise<{ id: string; name: string }[]> {
  const instance = await describeOne(ec2, instanceId);
  return (instance.SecurityGroups ?? []).map((g) => ({ id: g.GroupId ?? "", name: g.GroupName ?? "" }));
}

export function tagValue(instance: Instance, key: string): string | undefined {
  return instance.Tags?.find((tag) => tag.Key === key)?.Value;
}

/** Passes when the instance sits behind the isolation group only, and that group allows no traffic. */
export async function expectQuarantined(ec2: EC2Client, instanceId: string): Promise<void> {
  const groups = await instanceGroups(ec2, instanceId);
  expect(groups.map((g) => g.name)).toEqual([ISOLATION_GROUP_NAME]);
  const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groups.map((g) => g.id) }));
  expect(described.SecurityGroups?.[0]?.IpPermissions ?? []).toEqual([]);
  expect(described.SecurityGroups?.[0]?.IpPermissionsEgress ?? []).toEqual([]);
  expect(tagValue(await describeOne(ec2, instanceId), QUARANTINE_TAG_KEY)).toMatch(/@\d{4}-\d{2}-\d{2}T/);
}

/**
 * An instance launched into a subnet whose route table sends 0.0.0.0/0 to an internet gateway. moto's default
 * VPC has no such route, so the scenario builds its own public network.
 */
export const scenario: ControlScenario = {
  control: "ec2-instance-in-public-subnet",
  options: { action: "quarantine" },

  async arrangeViolation(moto) {
    const ec2 = await moto.clients.ec2(MOTO_REGION);
    const network = await createNetwork(ec2, "public");
    const instance = await launchInstance(ec2, network);
    const instanceId = required(instance.InstanceId, "InstanceId");
    const record = runInstancesRecord([instance], runInstancesRequest(network));
    return { record, resource: instanceRef(instanceId, MOTO_ACCOUNT, MOTO_REGION) };
  },

  async assertFixed(moto, resource: ResourceRef) {
    await expectQuarantined(await moto.clients.ec2(resource.region), resource.id);
  },

  async assertUnchanged(moto, resource: ResourceRef) {
    const ec2 = await moto.clients.ec2(resource.region);
    expect((await instanceGroups(ec2, resource.id)).map((g) => g.name)).toEqual([WEB_GROUP_NAME]);
    const instance = await describeOne(ec2, resource.id);
    expect(instance.State?.Name).toBe("running");
    expect(tagValue(instance, QUARANTINE_TAG_KEY)).toBeUndefined();
  },

  async makeCompliant(moto, resource: ResourceRef) {
    // Take the subnet private behind the engine's back: its route table loses the route to the internet gateway.
    const ec2 = await moto.clients.ec2(resource.region);
    const instance = await describeOne(ec2, resource.id);
    const subnetId = required(instance.SubnetId, "SubnetId");
    const tables = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: "association.subnet-id", Values: [subnetId] }] }));
    const routeTableId = required(tables.RouteTables?.[0]?.RouteTableId, "RouteTableId");
    await ec2.send(new DeleteRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: "0.0.0.0/0" }));
  },
};
