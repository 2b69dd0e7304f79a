import { randomUUID } from "node:crypto";
import { CreateSubnetCommand, CreateVpcCommand } from "@aws-sdk/client-ec2";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeListenersCommand,
  ModifyListenerCommand,
  type Listener,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { listenerRef } from "../../../../remediations/lib/elbv2";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "../../../support/moto";

export interface LoadBalancerFixture {
  loadBalancerArn: string;
  targetGroupArn: string;
}

/** An internet-facing Application Load Balancer in its own VPC with two subnets, and one target group. */
export async function createLoadBalancer(moto: Moto, tags: { Key: string; Value: string }[] = []): Promise<LoadBalancerFixture> {
  const ec2 = await moto.clients.ec2(MOTO_REGION);
  const suffix = randomUUID().slice(0, 8);
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.40.0.0/16" }));
  const vpcId = vpc.Vpc?.VpcId ?? "";
  const subnets = await Promise.all(
    ["a", "b"].map((zone, index) =>
      ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.40.${index}.0/24`, AvailabilityZone: `${MOTO_REGION}${zone}` })),
    ),
  );
  const elbv2 = await moto.clients.elbv2(MOTO_REGION);
  const created = await elbv2.send(
    new CreateLoadBalancerCommand({
      Name: `phi-portal-${suffix}`,
      Subnets: subnets.map((subnet) => subnet.Subnet?.SubnetId ?? ""),
      Type: "application",
      Scheme: "internet-facing",
      ...(tags.length > 0 ? { Tags: tags } : {}),
    }),
  );
  const group = await elbv2.send(
    new CreateTargetGroupCommand({ Name: `phi-portal-${suffix}`, Protocol: "HTTP", Port: 8080, VpcId: vpcId }),
  );
  return {
    loadBalancerArn: created.LoadBalancers?.[0]?.LoadBalancerArn ?? "",
    targetGroupArn: group.TargetGroups?.[0]?.TargetGroupArn ?? "",
  };
}

export async function createHttpListener(moto: Moto, fixture: LoadBalancerFixture, port = 80): Promise<Listener> {
  const elbv2 = await moto.clients.elbv2(MOTO_REGION);
  const created = await elbv2.send(
    new CreateListenerCommand({
      LoadBalancerArn: fixture.loadBalancerArn,
      Protocol: "HTTP",
      Port: port,
      DefaultActions: [{ Type: "forward", TargetGroupArn: fixture.targetGroupArn }],
    }),
  );
  const listener = created.Listeners?.[0];
  if (!listener?.ListenerArn) throw new Error("moto created no listener");
  return listener;
}

export async function readListener(moto: Moto, listenerArn: string): Promise<Listener> {
  const elbv2 = await moto.clients.elbv2(MOTO_REGION);
  const described = await elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }));
  return described.Listeners?.[0] ?? expect.fail(`listener ${listenerArn} is gone`);
}

/** The CreateListener record CloudTrail writes: the request names the load balancer, the response echoes the listener. */
export function createListenerRecord(fixture: LoadBalancerFixture, listener: Listener): Record<string, unknown> {
  return cloudTrailRecord({
    eventSource: "elasticloadbalancing.amazonaws.com",
    eventName: "CreateListener",
    requestParameters: {
      loadBalancerArn: fixture.loadBalancerArn,
      protocol: "HTTP",
      port: listener.Port,
      defaultActions: [{ type: "forward", targetGroupArn: fixture.targetGroupArn }],
    },
    responseElements: {
      listeners: [
        {
          listenerArn: listener.ListenerArn,
          loadBalancerArn: fixture.loadBalancerArn,
          protocol: "HTTP",
          port: listener.Port,
          defaultActions: [{ type: "forward", targetGroupArn: fixture.targetGroupArn }],
        },
      ],
    },
  });
}

function isHttpsRedirect(listener: Listener): boolean {
  return (listener.DefaultActions ?? []).every((action) => action.Type === "redirect" && action.RedirectConfig?.Protocol === "HTTPS");
}

/** A plaintext HTTP listener forwarding to a PHI portal's targets: CreateListener is the record the engine receives. */
export const scenario: ControlScenario = {
  control: "elbv2-listener-tls",

  async arrangeViolation(moto) {
    const fixture = await createLoadBalancer(moto, [{ Key: "DataClassification", Value: "PHI" }]);
    const listener = await createHttpListener(moto, fixture);
    const resource: ResourceRef = listenerRef(listener.ListenerArn ?? "", { account: MOTO_ACCOUNT, region: MOTO_REGION });
    return { record: createListenerRecord(fixture, listener), resource };
  },

  async assertFixed(moto, resource) {
    const listener = await readListener(moto, resource.arn);
    expect(listener.Protocol).toBe("HTTP");
    expect(isHttpsRedirect(listener)).toBe(true);
  },

  async assertUnchanged(moto, resource) {
    const listener = await readListener(moto, resource.arn);
    expect(listener.DefaultActions?.map((action) => action.Type)).toEqual(["forward"]);
  },

  async makeCompliant(moto, resource) {
    const elbv2 = await moto.clients.elbv2(resource.region);
    await elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: resource.arn,
        DefaultActions: [{ Type: "redirect", RedirectConfig: { Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301" } }],
      }),
    );
  },
};
