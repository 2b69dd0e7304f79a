import {
  AuthorizeSecurityGroupEgressCommand,
  CreateTagsCommand,
  DescribeSecurityGroupsCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from "@aws-sdk/client-ec2";
import { canonicalJson, type JsonObject, type ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control } from "../../../remediations/ec2-instance-in-public-subnet";
import { instanceRef } from "../../../remediations/lib/arn";
import { ISOLATION_GROUP_NAME, QUARANTINE_TAG_KEY } from "../../../remediations/lib/ec2-quarantine";
import { cloudTrailRecord } from "../../support/cloudtrail";
import {
  TEST_ENGINE_TAG,
  TEST_NOW,
  changeEventOf,
  liveContext,
  offlineContext,
  onlyCleared,
  onlyViolation,
} from "../../support/control-harness";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import {
  TEST_AMI,
  WEB_GROUP_NAME,
  createNetwork,
  describeOne,
  expectQuarantined,
  instanceGroups,
  launchInstance,
  runInstancesRecord,
  runInstancesRequest,
  scenario,
  tagValue,
  type TestNetwork,
} from "./scenarios/ec2-instance-in-public-subnet";

const moto = useMoto();
const ec2 = await moto.clients.ec2(MOTO_REGION);
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = () => offlineContext(moto, control);

function ref(instance: Instance): ResourceRef {
  if (!instance.InstanceId) throw new Error("instance without id");
  return instanceRef(instance.InstanceId, MOTO_ACCOUNT, MOTO_REGION);
}

async function violatingInstance(options: Record<string, unknown> = {}) {
  const network = await createNetwork(ec2, "public");
  const instance = await launchInstance(ec2, network);
  const resource = ref(instance);
  const ctx = context(options);
  const finding = onlyViolation(await control.detect({ resource }, ctx));
  return { network, instance, resource, ctx, finding, plan: control.plan(finding, ctx.options) };
}

describe("ec2-instance-in-public-subnet: registration and options", () => {
  it("is registered under its id", () => {
    expect(controlById("ec2-instance-in-public-subnet")).toBe(control);
  });

  it("defaults to quarantine and rejects an unknown action, naming the field", () => {
    expect(control.options.parse({})).toEqual({ action: "quarantine" });
    const result = control.options.safeParse({ action: "terminate" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["action"]);
    expect(result.error?.issues[0]?.message).toContain("quarantine or stop");
  });
});

describe("ec2-instance-in-public-subnet: triggers", () => {
  const [trigger] = control.triggers;
  const network: TestNetwork = { vpcId: "vpc-0a1b2c3d", subnetId: "subnet-0a1b2c3d", webGroupId: "sg-0a1b2c3d" };
  const launched = (id: string): Instance => ({ InstanceId: id, ImageId: TEST_AMI, SubnetId: network.subnetId, VpcId: network.vpcId });

  it("listens to RunInstances only", () => {
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual(["ec2.amazonaws.com RunInstances"]);
  });

  it("names every launched instance, in the event's account and region", () => {
    const event = changeEventOf(
      runInstancesRecord([launched("i-0aaa1111bbbb2222c"), launched("i-0ddd3333eeee4444f")], runInstancesRequest(network)),
    );
    expect(trigger?.resources(event)).toEqual([
      instanceRef("i-0aaa1111bbbb2222c", MOTO_ACCOUNT, MOTO_REGION),
      instanceRef("i-0ddd3333eeee4444f", MOTO_ACCOUNT, MOTO_REGION),
    ]);
  });

  it("reads instance ids from the response even when requestParameters is null", () => {
    const event = changeEventOf(runInstancesRecord([launched("i-0aaa1111bbbb2222c")], null));
    expect(event.request).toBeNull();
    expect(trigger?.resources(event).map((r) => r.id)).toEqual(["i-0aaa1111bbbb2222c"]);
  });

  it("finds nothing when responseElements is null or the ids are redacted", () => {
    const noResponse = changeEventOf(
      cloudTrailRecord({ eventSource: "ec2.amazonaws.com", eventName: "RunInstances", requestParameters: runInstancesRequest(network) }),
    );
    expect(trigger?.resources(noResponse)).toEqual([]);
    const redacted = changeEventOf(
      cloudTrailRecord({
        eventSource: "ec2.amazonaws.com",
        eventName: "RunInstances",
        responseElements: { instancesSet: { items: [{ instanceId: "..." }, { imageId: TEST_AMI }] } },
      }),
    );
    expect(trigger?.resources(redacted)).toEqual([]);
  });
});

describe("ec2-instance-in-public-subnet: detection against moto", () => {
  it("flags an instance whose subnet routes 0.0.0.0/0 to an internet gateway", async () => {
    const network = await createNetwork(ec2, "public");
    const instance = await launchInstance(ec2, network);
    const event = changeEventOf(runInstancesRecord([instance], runInstancesRequest(network)));
    const finding = onlyViolation(await control.detect({ resource: ref(instance), event }, context()));
    expect(finding.confirmed).toBe(true);
    expect(finding.summary).toContain(`public subnet ${network.subnetId}`);
    expect(finding.evidence).toMatchObject({
      vpcId: network.vpcId,
      publicIps: [],
      securityGroupIds: [network.webGroupId],
      subnets: [
        {
          subnetId: network.subnetId,
          internetRoute: { routeTableId: network.routeTableId, destination: "0.0.0.0/0", gatewayId: network.internetGatewayId },
        },
      ],
      launch: { subnetIds: [network.subnetId], associatePublicIp: null },
    });
    expect(finding.event?.id).toBe(event.id);
  });

  it("flags an instance holding a public IP even where the subnet has no internet route", async () => {
    const network = await createNetwork(ec2, "private");
    const instance = await launchInstance(ec2, network, { associatePublicIp: true });
    const finding = onlyViolation(await control.detect({ resource: ref(instance) }, context()));
    const live = await describeOne(ec2, ref(instance).id);
    expect(live.PublicIpAddress).toBeTruthy();
    expect(finding.evidence.publicIps).toEqual([live.PublicIpAddress]);
    expect(finding.summary).toContain("public IP address");
  });

  it("clears an instance in a private subnet without a public IP", async () => {
    const network = await createNetwork(ec2, "private");
    const instance = await launchInstance(ec2, network);
    const reason = onlyCleared(await control.detect({ resource: ref(instance) }, context()));
    expect(reason).toContain("no route to an internet gateway");
  });

  it("trusts live state over a late event: the route was removed after launch", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    await scenario.makeCompliant(moto, resource);
    const reason = onlyCleared(await control.detect({ resource, event: changeEventOf(record) }, context()));
    expect(reason).toContain("no public IP");
  });

  it("clears a terminated or unknown instance as gone", async () => {
    const { instance, resource } = await violatingInstance();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [resource.id] }));
    expect(onlyCleared(await control.detect({ resource }, context()))).toContain("no longer exists");
    const unknown = instanceRef("i-0123456789abcdef0", MOTO_ACCOUNT, MOTO_REGION);
    expect(onlyCleared(await control.detect({ resource: unknown }, context()))).toContain("no longer exists");
    expect(instance.InstanceId).toBe(resource.id);
  });
});

describe("ec2-instance-in-public-subnet: offline detection from the event alone", () => {
  const network: TestNetwork = { vpcId: "vpc-0a1b2c3d", subnetId: "subnet-0a1b2c3d", webGroupId: "sg-0a1b2c3d" };
  const instance: Instance = { InstanceId: "i-0aaa1111bbbb2222c", ImageId: TEST_AMI, SubnetId: network.subnetId };
  const resource = instanceRef("i-0aaa1111bbbb2222c", MOTO_ACCOUNT, MOTO_REGION);

  it("flags a launch that asked for a public IP, unconfirmed", async () => {
    const event = changeEventOf(runInstancesRecord([instance], runInstancesRequest(network, { associatePublicIp: true })));
    const finding = onlyViolation(await control.detect({ resource, event }, offline()));
    expect(finding.confirmed).toBe(false);
    expect(finding.evidence).toEqual({
      instanceId: resource.id,
      launch: { subnetIds: [network.subnetId], publicIps: [], associatePublicIp: true },
    });
  });

  it("flags a launch whose response carries a public IP", async () => {
    const record = runInstancesRecord([instance], runInstancesRequest(network));
    const event = changeEventOf(record);
    const items = (event.response?.instancesSet as { items: JsonObject[] }).items;
    const withIp = { ...event, response: { instancesSet: { items: items.map((item) => ({ ...item, publicIp: "203.0.113.25" })) } } };
    const finding = onlyViolation(await control.detect({ resource, event: withIp }, offline()));
    expect(finding.summary).toContain("203.0.113.25");
  });

  it("cannot tell without a public IP in the event, nor without an event", async () => {
    const privateLaunch = changeEventOf(runInstancesRecord([instance], runInstancesRequest(network, { associatePublicIp: false })));
    expect(await control.detect({ resource, event: privateLaunch }, offline())).toEqual([]);
    const plainLaunch = changeEventOf(runInstancesRecord([instance], runInstancesRequest(network)));
    expect(await control.detect({ resource, event: plainLaunch }, offline())).toEqual([]);
    expect(await control.detect({ resource }, offline())).toEqual([]);
  });
});

describe("ec2-instance-in-public-subnet: plan", () => {
  it("is pure: the same finding and options give an equal plan", async () => {
    const { finding, ctx } = await violatingInstance();
    const first = control.plan(finding, ctx.options);
    const second = control.plan(structuredClone(finding), control.options.parse({}));
    expect(canonicalJson(second)).toBe(canonicalJson(first));
    expect(first).toMatchObject({
      control: "ec2-instance-in-public-subnet",
      resource: finding.resource,
      reversible: true,
      params: { instanceId: finding.resource.id, action: "quarantine", isolationGroupName: ISOLATION_GROUP_NAME },
    });
    expect(first.steps.join(" ")).toContain(ISOLATION_GROUP_NAME);
    expect(control.plan(finding, { action: "stop" }).params.action).toBe("stop");
  });
});

describe("ec2-instance-in-public-subnet: quarantine, verify and rollback against moto", () => {
  it("swaps the groups for an isolation group without rules, tags the instance, and verifies", async () => {
    const { network, resource, ctx, plan } = await violatingInstance();
    const result = await control.apply(plan, ctx);

    const groups = await instanceGroups(ec2, resource.id);
    await expectQuarantined(ec2, resource.id);
    const isolation = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groups[0]?.id ?? ""] }));
    expect(isolation.SecurityGroups?.[0]?.VpcId).toBe(network.vpcId);
    expect(isolation.SecurityGroups?.[0]?.Tags).toEqual([{ Key: TEST_ENGINE_TAG, Value: "isolation" }]);

    const instance = await describeOne(ec2, resource.id);
    expect(tagValue(instance, QUARANTINE_TAG_KEY)).toBe(`ec2-instance-in-public-subnet@${TEST_NOW.toISOString()}`);
    expect(tagValue(instance, TEST_ENGINE_TAG)).toBe("ec2-instance-in-public-subnet");

    expect(result.before).toMatchObject({
      instanceId: resource.id,
      state: "running",
      vpcId: network.vpcId,
      interfaces: [{ groupIds: [network.webGroupId] }],
      tags: { [QUARANTINE_TAG_KEY]: null, [TEST_ENGINE_TAG]: null },
    });
    expect(result.after).toMatchObject({ interfaces: [{ groupIds: groups.map((g) => g.id) }] });

    const verified = await control.verify(plan, ctx);
    expect(verified.ok).toBe(true);
    expect(verified.state).toMatchObject({ isolationGroupId: groups[0]?.id, isolationGroupRules: 0 });
    expect(onlyCleared(await control.detect({ resource }, ctx))).toContain("already quarantined");
  });

  it("rolls back to exactly the groups and tags captured before", async () => {
    const { resource, ctx, plan } = await violatingInstance();
    await ec2.send(new CreateTagsCommand({ Resources: [resource.id], Tags: [{ Key: TEST_ENGINE_TAG, Value: "earlier-run" }] }));
    const groupsBefore = await instanceGroups(ec2, resource.id);
    const { before, after } = await control.apply(plan, ctx);
    expect(after).not.toEqual(before);

    await control.rollback(plan, before, ctx);
    expect(await instanceGroups(ec2, resource.id)).toEqual(groupsBefore);
    expect(groupsBefore.map((g) => g.name)).toEqual([WEB_GROUP_NAME]);
    const instance = await describeOne(ec2, resource.id);
    expect(tagValue(instance, QUARANTINE_TAG_KEY)).toBeUndefined();
    expect(tagValue(instance, TEST_ENGINE_TAG)).toBe("earlier-run");
    expect((await control.verify(plan, ctx)).ok).toBe(false);
    onlyViolation(await control.detect({ resource }, ctx));
  });

  it("reuses one isolation group per VPC and strips rules someone added to it", async () => {
    const first = await violatingInstance();
    await control.apply(first.plan, first.ctx);
    const [isolation] = await instanceGroups(ec2, first.resource.id);
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: isolation?.id,
        IpPermissions: [{ IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
      }),
    );
    expect((await control.verify(first.plan, first.ctx)).detail).toContain("rule");

    const second = await launchInstance(ec2, first.network);
    const finding = onlyViolation(await control.detect({ resource: ref(second) }, first.ctx));
    await control.apply(control.plan(finding, first.ctx.options), first.ctx);
    expect(await instanceGroups(ec2, ref(second).id)).toEqual([isolation]);
    await expectQuarantined(ec2, ref(second).id);
    const named = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: "vpc-id", Values: [first.network.vpcId] },
          { Name: "group-name", Values: [ISOLATION_GROUP_NAME] },
        ],
      }),
    );
    expect(named.SecurityGroups).toHaveLength(1);
  });

  it("changes nothing when the instance is already quarantined", async () => {
    const { resource, ctx, plan } = await violatingInstance();
    await control.apply(plan, ctx);
    const again = await control.apply(plan, ctx);
    expect(again.after).toEqual(again.before);
    expect(again.before).toMatchObject({ tags: { [QUARANTINE_TAG_KEY]: `ec2-instance-in-public-subnet@${TEST_NOW.toISOString()}` } });
    await expectQuarantined(ec2, resource.id);
  });

  it("refuses to apply to an instance terminated since detection, and detection clears it", async () => {
    const { resource, ctx, plan } = await violatingInstance();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [resource.id] }));
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "ResourceGoneError" });
    expect(onlyCleared(await control.detect({ resource }, ctx))).toContain("no longer exists");
  });

  it("quarantines each interface of a multi-interface instance and restores each on rollback", async () => {
    const network = await createNetwork(ec2, "public");
    const launched = await ec2.send(
      new RunInstancesCommand({
        ImageId: TEST_AMI,
        MinCount: 1,
        MaxCount: 1,
        NetworkInterfaces: [
          { DeviceIndex: 0, SubnetId: network.subnetId, Groups: [network.webGroupId] },
          { DeviceIndex: 1, SubnetId: network.subnetId, Groups: [network.webGroupId] },
        ],
      }),
    );
    const resource = ref(launched.Instances?.[0] ?? {});
    const ctx = context();
    const plan = control.plan(onlyViolation(await control.detect({ resource }, ctx)), ctx.options);
    const { before } = await control.apply(plan, ctx);
    expect(before.interfaces).toHaveLength(2);

    const interfaceGroups = async () =>
      (await describeOne(ec2, resource.id)).NetworkInterfaces?.map((eni) => eni.Groups?.map((g) => g.GroupName));
    expect(await interfaceGroups()).toEqual([[ISOLATION_GROUP_NAME], [ISOLATION_GROUP_NAME]]);
    expect((await control.verify(plan, ctx)).ok).toBe(true);

    await control.rollback(plan, before, ctx);
    expect(await interfaceGroups()).toEqual([[WEB_GROUP_NAME], [WEB_GROUP_NAME]]);
  });

  it("rejects a rollback state of the wrong shape, naming the field", async () => {
    const { ctx, plan } = await violatingInstance();
    await expect(control.rollback(plan, { instanceId: plan.params.instanceId, state: "running" }, ctx)).rejects.toMatchObject({
      name: "InvalidControlDataError",
      message: expect.stringContaining("field vpcId"),
    });
  });
});

describe("ec2-instance-in-public-subnet: the stop action", () => {
  it("stops the instance instead, verifies, and rollback starts it again", async () => {
    const { resource, ctx, plan } = await violatingInstance({ action: "stop" });
    expect(plan.summary).toBe(`Stop instance ${resource.id}.`);
    const { before, after } = await control.apply(plan, ctx);
    expect(before).toMatchObject({ state: "running" });
    expect(after).toMatchObject({ state: expect.stringMatching(/^(stopping|stopped)$/) });
    expect((await instanceGroups(ec2, resource.id)).map((g) => g.name)).toEqual([WEB_GROUP_NAME]);
    expect(tagValue(await describeOne(ec2, resource.id), QUARANTINE_TAG_KEY)).toBe(
      `ec2-instance-in-public-subnet@${TEST_NOW.toISOString()}`,
    );
    expect((await control.verify(plan, ctx)).ok).toBe(true);
    expect(onlyCleared(await control.detect({ resource }, ctx))).toContain("stopped");

    await control.rollback(plan, before, ctx);
    const instance = await describeOne(ec2, resource.id);
    expect(instance.State?.Name).toMatch(/^(pending|running)$/);
    expect(tagValue(instance, QUARANTINE_TAG_KEY)).toBeUndefined();
  });

  it("leaves an instance that was already stopped stopped on rollback", async () => {
    const { resource, ctx, plan } = await violatingInstance({ action: "stop" });
    await ec2.send(new StopInstancesCommand({ InstanceIds: [resource.id] }));
    const { before, after } = await control.apply(plan, ctx);
    expect(after).toEqual(before);
    await control.rollback(plan, before, ctx);
    expect((await describeOne(ec2, resource.id)).State?.Name).toBe("stopped");
  });
});

describe("ec2-instance-in-public-subnet: sweep", () => {
  it("lists live instances in the sweep's regions, and not terminated ones", async () => {
    const network = await createNetwork(ec2, "private");
    const running = ref(await launchInstance(ec2, network));
    const stopped = ref(await launchInstance(ec2, network));
    const terminated = ref(await launchInstance(ec2, network));
    await ec2.send(new StopInstancesCommand({ InstanceIds: [stopped.id] }));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [terminated.id] }));

    const swept: ResourceRef[] = [];
    for await (const resource of control.sweep(context())) swept.push(resource);
    expect(swept).toEqual(expect.arrayContaining([running, stopped]));
    expect(swept.map((r) => r.id)).not.toContain(terminated.id);
  });
});

describe("ec2-instance-in-public-subnet: end-to-end scenario", () => {
  it("arranges a real violation whose record names the real instance, and fixes it", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    await scenario.assertUnchanged(moto, resource);
    const event = changeEventOf(record);
    const [matched] = control.triggers.flatMap((t) => t.resources(event));
    expect(matched).toEqual(resource);
    const ctx = context(scenario.options);
    const finding = onlyViolation(await control.detect({ resource, event }, ctx));
    const plan = control.plan(finding, ctx.options);
    await control.apply(plan, ctx);
    await scenario.assertFixed(moto, resource);
    await expect(scenario.assertUnchanged(moto, resource)).rejects.toThrow();
  });
});
