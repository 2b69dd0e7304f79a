import { DescribeRouteTablesCommand, type EC2Client, type RouteTable } from "@aws-sdk/client-ec2";
import {
  CATEGORIES,
  defineControl,
  eventRef,
  type ChangeEvent,
  type ControlContext,
  type JsonObject,
  type Plan,
  type ResourceRef,
  type Verdict,
} from "@hipaa-remediate/core";
import { z } from "zod";
import { instanceRef } from "./lib/arn";
import { parseControlData } from "./lib/control-data";
import {
  containInstance,
  containmentParams,
  containmentParamsSchema,
  containmentPermissions,
  describeContainment,
  isQuarantined,
  isStopped,
  launchedInstances,
  readInstance,
  releaseInstance,
  sweepInstances,
  verifyContainment,
  type ContainmentParams,
  type LaunchRecord,
  type LiveInstance,
} from "./lib/ec2-quarantine";

const CONTROL_ID = "ec2-instance-in-public-subnet";

const optionsSchema = z
  .strictObject({
    /** quarantine swaps the instance's security groups for an isolation group; stop stops the instance. */
    action: z.enum(["quarantine", "stop"], { error: "action must be quarantine or stop" }).default("quarantine"),
  })
  .prefault({});

export type PublicSubnetOptions = z.output<typeof optionsSchema>;

/** A route that makes a subnet public: the default route (IPv4 or IPv6) to an internet gateway. */
export type InternetRoute = { routeTableId: string; destination: string; gatewayId: string };

const DEFAULT_ROUTES = new Set(["0.0.0.0/0", "::/0"]);

export function internetRouteIn(table: RouteTable): InternetRoute | undefined {
  for (const route of table.Routes ?? []) {
    const destination = route.DestinationCidrBlock ?? route.DestinationIpv6CidrBlock;
    const gatewayId = route.GatewayId;
    if (!destination || !DEFAULT_ROUTES.has(destination) || !gatewayId?.startsWith("igw-")) continue;
    // A blackhole route points at a deleted gateway and carries no traffic.
    if (route.State === "blackhole") continue;
    return { routeTableId: table.RouteTableId ?? "unknown", destination, gatewayId };
  }
  return undefined;
}

/** The route table that governs a subnet: its explicit association, else the VPC's main table. */
async function routeTableOf(ec2: EC2Client, subnetId: string, vpcId: string): Promise<RouteTable | undefined> {
  const explicit = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: "association.subnet-id", Values: [subnetId] }] }));
  const associated = explicit.RouteTables?.[0];
  if (associated) return associated;
  const main = await ec2.send(
    new DescribeRouteTablesCommand({
      Filters: [
        { Name: "vpc-id", Values: [vpcId] },
        { Name: "association.main", Values: ["true"] },
      ],
    }),
  );
  return main.RouteTables?.[0];
}

type SubnetExposure = { subnetId: string; internetRoute: InternetRoute | null };

async function subnetExposures(ec2: EC2Client, instance: LiveInstance): Promise<SubnetExposure[]> {
  const vpcId = instance.vpcId;
  if (!vpcId) return [];
  const exposures: SubnetExposure[] = [];
  for (const subnetId of instance.subnetIds) {
    const table = await routeTableOf(ec2, subnetId, vpcId);
    exposures.push({ subnetId, internetRoute: (table && internetRouteIn(table)) ?? null });
  }
  return exposures;
}

function describeExposure(instanceId: string, publicSubnets: SubnetExposure[], publicIps: string[]): string {
  const [first] = publicSubnets;
  if (first?.internetRoute) {
    const { destination, gatewayId, routeTableId } = first.internetRoute;
    return `Instance ${instanceId} is in public subnet ${first.subnetId} (${routeTableId} routes ${destination} to ${gatewayId})`;
  }
  return `Instance ${instanceId} has public IP address ${publicIps.join(", ")}`;
}

function eventEvidence(launch: LaunchRecord | undefined): JsonObject {
  if (!launch) return {};
  return {
    launch: {
      subnetIds: launch.subnetIds,
      publicIps: launch.publicIps,
      associatePublicIp: launch.associatePublicIp ?? null,
    },
  };
}

function launchFor(event: ChangeEvent | undefined, instanceId: string): LaunchRecord | undefined {
  if (!event || event.name !== "RunInstances") return undefined;
  return launchedInstances(event).find((launch) => launch.instanceId === instanceId);
}

/** Without AWS only the launch request can tell: an instance asked for (or got) a public IP is exposed. */
function detectOffline(resource: ResourceRef, event: ChangeEvent | undefined): Verdict[] {
  const launch = launchFor(event, resource.id);
  if (!event || !launch) return [];
  if (launch.associatePublicIp !== true && launch.publicIps.length === 0) return [];
  const summary =
    launch.publicIps.length > 0
      ? `Instance ${resource.id} was launched with public IP address ${launch.publicIps.join(", ")}`
      : `Instance ${resource.id} was launched with a public IP address requested`;
  return [
    {
      kind: "violation",
      finding: {
        control: CONTROL_ID,
        resource,
        summary,
        evidence: { instanceId: resource.id, ...eventEvidence(launch) },
        confirmed: false,
        tags: {},
        event: eventRef(event),
      },
    },
  ];
}

async function detectLive(
  resource: ResourceRef,
  event: ChangeEvent | undefined,
  ctx: ControlContext<PublicSubnetOptions>,
  ec2: EC2Client,
): Promise<Verdict[]> {
  const instance = await readInstance(ec2, resource.id);
  const cleared = (reason: string): Verdict[] => [{ kind: "no-longer-applies", resource, reason }];
  if (!instance) return cleared(`instance ${resource.id} no longer exists or is terminated`);
  if (isQuarantined(instance)) return cleared(`instance ${resource.id} is already quarantined`);
  if (ctx.options.action === "stop" && isStopped(instance)) return cleared(`instance ${resource.id} is ${instance.state}`);

  const exposures = await subnetExposures(ec2, instance);
  const publicSubnets = exposures.filter((exposure) => exposure.internetRoute !== null);
  if (publicSubnets.length === 0 && instance.publicIps.length === 0) {
    return cleared(`instance ${resource.id} has no public IP and its subnets have no route to an internet gateway`);
  }
  const evidence: JsonObject = {
    instanceId: instance.instanceId,
    state: instance.state,
    vpcId: instance.vpcId ?? null,
    subnets: exposures,
    publicIps: instance.publicIps,
    securityGroupIds: [...new Set(instance.interfaces.flatMap((eni) => eni.groups.map((g) => g.id)))],
    ...eventEvidence(launchFor(event, resource.id)),
  };
  return [
    {
      kind: "violation",
      finding: {
        control: CONTROL_ID,
        resource,
        summary: describeExposure(resource.id, publicSubnets, instance.publicIps),
        evidence,
        confirmed: true,
        tags: instance.tags,
        ...(event ? { event: eventRef(event) } : {}),
      },
    },
  ];
}

function planParams(plan: Plan<ContainmentParams>): ContainmentParams {
  return parseControlData(containmentParamsSchema, plan.params, `plan for ${CONTROL_ID}`);
}

export const control = defineControl<PublicSubnetOptions, ContainmentParams>({
  id: CONTROL_ID,
  title: "EC2 instances are not reachable from the internet through a public subnet",
  category: "public-exposure",
  hipaa: {
    sections: [...CATEGORIES["public-exposure"].hipaa],
    why: "An instance in a subnet routed to an internet gateway, or holding a public IP, can be reached from anywhere, which defeats the access control 164.312(a)(1) and transmission security 164.312(e)(1) that protect the ePHI it may process.",
  },
  severity: "high",
  options: optionsSchema,
  triggers: [
    {
      source: "ec2.amazonaws.com",
      name: "RunInstances",
      resources: (event) => launchedInstances(event).map((launch) => instanceRef(launch.instanceId, event.account, event.region)),
    },
  ],
  permissions: {
    detect: ["ec2:DescribeInstances", "ec2:DescribeRouteTables"],
    ...containmentPermissions(["quarantine", "stop"]),
  },

  async detect(input, ctx) {
    if (!ctx.aws) return detectOffline(input.resource, input.event);
    return detectLive(input.resource, input.event, ctx, await ctx.aws.ec2(input.resource.region));
  },

  plan(finding, options): Plan<ContainmentParams> {
    const params = containmentParams(CONTROL_ID, finding.resource, options.action);
    return { control: CONTROL_ID, resource: finding.resource, ...describeContainment(params), reversible: true, params };
  },

  async apply(plan, ctx) {
    const params = planParams(plan);
    return containInstance(await ctx.aws.ec2(params.region), params, { engineTagKey: ctx.engine.tagKey, now: ctx.now() });
  },

  async verify(plan, ctx) {
    const params = planParams(plan);
    return verifyContainment(await ctx.aws.ec2(params.region), params);
  },

  async rollback(plan, before, ctx) {
    const params = planParams(plan);
    await releaseInstance(await ctx.aws.ec2(params.region), params, before);
  },

  sweep: sweepInstances,
});
