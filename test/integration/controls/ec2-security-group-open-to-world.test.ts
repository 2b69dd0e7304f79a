import {
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { ReadCache, type ChangeEvent, type Finding, type ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { DEFAULT_ADMIN_PORTS, control } from "../../../remediations/ec2-security-group-open-to-world";
import { securityGroupRef } from "../../../remediations/lib/ec2-security-groups";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusEventsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import {
  HTTPS_FROM_ANYWHERE,
  SSH_FROM_ANYWHERE,
  authorize,
  authorizeRecord,
  createGroup,
  ingressRules,
  permissionsRequest,
  rulesResponse,
  scenario,
} from "./scenarios/ec2-security-group-open-to-world";

// No reset between tests: moto rebuilds every region's default VPC after a reset. Each test makes its own group.
const moto = useMoto();
const ec2 = await moto.clients.ec2(MOTO_REGION);
const [trigger] = control.triggers;
if (!trigger) throw new Error("ec2-security-group-open-to-world declares no trigger");

const groupRef = (groupId: string) => securityGroupRef(groupId, MOTO_ACCOUNT, MOTO_REGION);
const offline = () => offlineContext(moto, control);
const live = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);

function eventOf(request: Record<string, unknown> | null, response: Record<string, unknown> | null = null): ChangeEvent {
  return changeEventOf(authorizeRecord(request, response));
}

async function detectOffline(event: ChangeEvent): Promise<Finding[]> {
  const verdicts = await Promise.all(trigger?.resources(event).map((resource) => control.detect({ resource, event }, offline())) ?? []);
  return verdicts.flat().flatMap((v) => (v.kind === "violation" ? [v.finding] : []));
}

describe("ec2-security-group-open-to-world: identity and options", () => {
  it("is registered, approve by default, with exact IAM actions", () => {
    expect(controlById("ec2-security-group-open-to-world")).toBe(control);
    expect(control).toMatchObject({ category: "public-exposure", defaultMode: "approve", severity: "critical" });
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual(["ec2.amazonaws.com AuthorizeSecurityGroupIngress"]);
    expect(control.permissions).toEqual({
      detect: ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:DescribeNetworkInterfaces"],
      apply: ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:RevokeSecurityGroupIngress"],
      rollback: ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:AuthorizeSecurityGroupIngress"],
    });
  });

  it("watches the admin and database ports by default and rejects bad ports, naming the field", () => {
    expect(control.options.parse({})).toEqual({ ports: DEFAULT_ADMIN_PORTS });
    expect(DEFAULT_ADMIN_PORTS).toEqual(expect.arrayContaining([22, 3389, 3306, 5432, 1433, 27017]));
    const outOfRange = control.options.safeParse({ ports: [22, 70000] });
    expect(outOfRange.error?.issues[0]?.path).toEqual(["ports", 1]);
    expect(outOfRange.error?.issues[0]?.message).toContain("0-65535");
    expect(control.options.safeParse({ ports: [] }).error?.issues[0]?.message).toContain("at least one port");
    expect(control.options.safeParse({ ports: "22" }).error?.issues[0]?.path).toEqual(["ports"]);
    expect(control.options.safeParse({ port: [22] }).success).toBe(false);
  });
});

describe("ec2-security-group-open-to-world: trigger", () => {
  it("names the group of either request shape, in the event's account and region", () => {
    expect(trigger.resources(eventOf(permissionsRequest("sg-0a1b2c3d4e5f60718", [SSH_FROM_ANYWHERE])))).toEqual([
      groupRef("sg-0a1b2c3d4e5f60718"),
    ]);
    const flat = {
      groupId: "sg-003dc7f1f1c686164",
      cidrIp: "208.236.235.254/0",
      fromPort: 22,
      toPort: 22,
      ipProtocol: "tcp",
      ipPermissions: {},
    };
    expect(trigger.resources(eventOf(flat))).toEqual([groupRef("sg-003dc7f1f1c686164")]);
  });

  it("falls back to the response's group, then to a group name; null parameters and redactions name nothing", () => {
    const response = rulesResponse([
      { GroupId: "sg-0feedfacecafe0001", SecurityGroupRuleId: "sgr-1", IpProtocol: "tcp", FromPort: 22, ToPort: 22, CidrIpv4: "0.0.0.0/0" },
    ]);
    expect(trigger.resources(eventOf(null, response))).toEqual([groupRef("sg-0feedfacecafe0001")]);
    const byName = { groupName: "legacy-web", cidrIp: "0.0.0.0/0", fromPort: 22, toPort: 22, ipProtocol: "tcp", ipPermissions: {} };
    expect(trigger.resources(eventOf(byName)).map((r) => r.id)).toEqual(["legacy-web"]);
    expect(trigger.resources(eventOf(null))).toEqual([]);
    expect(trigger.resources(eventOf({ groupId: "...", ipPermissions: {} }))).toEqual([]);
  });
});

describe("ec2-security-group-open-to-world: offline detection from the event", () => {
  const group = "sg-0a1b2c3d4e5f60718";

  it("flags SSH opened to 0.0.0.0/0 through ipPermissions, unconfirmed", async () => {
    const event = eventOf(permissionsRequest(group, [SSH_FROM_ANYWHERE]));
    const [finding, ...rest] = await detectOffline(event);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      resource: groupRef(group),
      confirmed: false,
      summary: `Security group ${group} opens port 22 to the whole internet (0.0.0.0/0)`,
      evidence: {
        groupId: group,
        attachments: null,
        rules: [
          {
            ruleId: null,
            protocol: "tcp",
            fromPort: 22,
            toPort: 22,
            cidr: "0.0.0.0/0",
            description: "vendor support",
            allPorts: false,
            ports: [22],
          },
        ],
      },
      event: { id: event.id },
    });
  });

  it("treats any /0 as the whole internet in the flat shape, and uses the response's rule ids", async () => {
    const flat = { groupId: group, cidrIp: "208.236.235.254/0", fromPort: "22", toPort: "22", ipProtocol: "tcp", ipPermissions: {} };
    const response = rulesResponse([
      { GroupId: group, SecurityGroupRuleId: "sgr-0abc", IpProtocol: "tcp", FromPort: 22, ToPort: 22, CidrIpv4: "208.236.235.254/0" },
    ]);
    expect((await detectOffline(eventOf(flat)))[0]?.evidence.rules).toMatchObject([
      { cidr: "208.236.235.254/0", ports: [22], ruleId: null },
    ]);
    expect((await detectOffline(eventOf(flat, response)))[0]?.evidence.rules).toMatchObject([{ ruleId: "sgr-0abc", ports: [22] }]);
  });

  it("flags ranges that include an admin port, all traffic, full port ranges and ::/0", async () => {
    const permissions = [
      { IpProtocol: "tcp", FromPort: 3000, ToPort: 3400, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
      { IpProtocol: "-1", Ipv6Ranges: [{ CidrIpv6: "::/0" }] },
      { IpProtocol: "udp", FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
    ];
    const [finding] = await detectOffline(eventOf(permissionsRequest(group, permissions)));
    expect(finding?.summary).toBe(`Security group ${group} opens every port to the whole internet (0.0.0.0/0 and ::/0)`);
    expect(finding?.evidence.rules).toMatchObject([
      { fromPort: 3000, toPort: 3400, allPorts: false, ports: [3389, 3306] },
      { protocol: "-1", cidr: "::/0", allPorts: true },
      { protocol: "udp", allPorts: true },
    ]);
  });

  it("does not flag private ranges, narrower prefixes, web ports or other ports than the policy's", async () => {
    const quiet = [
      { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "10.0.0.0/8" }, { CidrIp: "0.0.0.0/1" }] },
      { IpProtocol: "-1", IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
      HTTPS_FROM_ANYWHERE,
      { IpProtocol: "icmp", FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
    ];
    expect(await detectOffline(eventOf(permissionsRequest(group, quiet)))).toEqual([]);
    const onlyHttps = offlineContext(moto, control, { ports: [443] });
    const event = eventOf(permissionsRequest(group, [SSH_FROM_ANYWHERE, HTTPS_FROM_ANYWHERE]));
    const finding = onlyViolation(await control.detect({ resource: groupRef(group), event }, onlyHttps));
    expect(finding.evidence.rules).toMatchObject([{ fromPort: 443, ports: [443] }]);
    expect(await control.detect({ resource: groupRef(group) }, offline())).toEqual([]);
  });
});

describe("ec2-security-group-open-to-world: live detection on moto", () => {
  it("confirms the open rule, lists who sits behind the group, and reads its tags", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    const launched = await ec2.send(
      new RunInstancesCommand({ ImageId: "ami-0abcdef1234567890", MinCount: 1, MaxCount: 1, SecurityGroupIds: [resource.id] }),
    );
    const instanceId = launched.Instances?.[0]?.InstanceId;
    const finding = onlyViolation(await control.detect({ resource, event: changeEventOf(record) }, live()));
    const [ssh] = (await ingressRules(ec2, resource.id)).filter((r) => r.FromPort === 22);
    expect(finding).toMatchObject({
      resource,
      confirmed: true,
      tags: {},
      evidence: {
        groupId: resource.id,
        rules: [{ ruleId: ssh?.SecurityGroupRuleId, cidr: "0.0.0.0/0", description: "vendor support", ports: [22] }],
        attachments: { instances: [instanceId], otherInterfaces: [] },
      },
    });
  });

  it("judges the group as it is now: a rule revoked since the event no longer applies", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    await scenario.makeCompliant(moto, resource);
    const reason = onlyCleared(await control.detect({ resource, event: changeEventOf(record) }, live()));
    expect(reason).toContain("no longer opens");
  });

  it("flags every open admin rule of the group, also those the event did not add", async () => {
    const groupId = await createGroup(ec2);
    await authorize(ec2, groupId, { IpProtocol: "tcp", FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: "0.0.0.0/0" }] });
    await authorize(ec2, groupId, SSH_FROM_ANYWHERE);
    const event = eventOf(permissionsRequest(groupId, [SSH_FROM_ANYWHERE]));
    const finding = onlyViolation(await control.detect({ resource: groupRef(groupId), event }, live()));
    expect(finding.summary).toContain("ports 22, 5432");
  });

  it("ends a deleted group, or one never seen, as no longer applies", async () => {
    const groupId = await createGroup(ec2);
    await authorize(ec2, groupId, SSH_FROM_ANYWHERE);
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    expect(onlyCleared(await control.detect({ resource: groupRef(groupId) }, live()))).toContain("no longer exists");
    expect(onlyCleared(await control.detect({ resource: groupRef("sg-00000000000000000") }, live()))).toContain("no longer exists");
  });

  it("resolves a group named only by name (flat request) to its id", async () => {
    const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ["default"] }));
    const groupId = described.SecurityGroups?.[0]?.GroupId ?? "";
    const created = await authorize(ec2, groupId, {
      IpProtocol: "tcp",
      FromPort: 3389,
      ToPort: 3389,
      IpRanges: [{ CidrIp: "198.51.100.7/0" }],
    });
    const event = eventOf({
      groupName: "default",
      cidrIp: "198.51.100.7/0",
      fromPort: 3389,
      toPort: 3389,
      ipProtocol: "tcp",
      ipPermissions: {},
    });
    const [resource] = trigger.resources(event);
    if (!resource) throw new Error("no resource");
    const finding = onlyViolation(await control.detect({ resource, event }, live()));
    expect(finding.resource).toEqual(groupRef(groupId));
    expect(finding.evidence.rules).toMatchObject([{ ruleId: created[0]?.SecurityGroupRuleId, ports: [3389] }]);
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: [created[0]?.SecurityGroupRuleId ?? ""] }),
    );
  });
});

describe("ec2-security-group-open-to-world: plan, apply, verify, rollback on moto", () => {
  async function violation(extra: Parameters<typeof authorize>[2][] = []) {
    const { resource } = await scenario.arrangeViolation(moto);
    for (const permission of extra) await authorize(ec2, resource.id, permission);
    const ctx = live();
    const finding = onlyViolation(await control.detect({ resource }, ctx));
    return { resource, ctx, finding, plan: control.plan(finding, ctx.options) };
  }

  it("says plainly who loses what, and names the rule it revokes", async () => {
    const { resource, finding, plan } = await violation();
    const ruleId = (finding.evidence.rules as { ruleId: string }[])[0]?.ruleId;
    expect(plan).toMatchObject({
      summary: `Revoke 1 rule(s) of ${resource.id} that open port 22 to the whole internet.`,
      reversible: true,
      params: { groupId: resource.id, region: MOTO_REGION },
    });
    expect(plan.steps).toContain(`RevokeSecurityGroupIngress on ${resource.id}: rule ${ruleId}, tcp port 22 from 0.0.0.0/0.`);
    expect(plan.steps.join(" ")).toContain(`anyone on the internet loses access to port 22 of ${resource.id} (no instances)`);
    expect(control.plan(structuredClone(finding), control.options.parse({}))).toEqual(plan);
  });

  it("revokes exactly the open rules by id, keeps the others, verifies, and rolls back by content", async () => {
    const privateSsh = { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "10.0.0.0/8" }] };
    const { resource, ctx, plan } = await violation([privateSsh]);
    const before = await ingressRules(ec2, resource.id);
    const applied = await control.apply(plan, ctx);
    const openSsh = before.find((r) => r.FromPort === 22 && r.CidrIpv4 === "0.0.0.0/0");
    expect(applied.before).toEqual({
      groupId: resource.id,
      region: MOTO_REGION,
      rules: [
        {
          ruleId: openSsh?.SecurityGroupRuleId,
          protocol: "tcp",
          fromPort: 22,
          toPort: 22,
          cidr: "0.0.0.0/0",
          description: "vendor support",
        },
      ],
    });
    const after = await ingressRules(ec2, resource.id);
    expect(after.map((r) => r.SecurityGroupRuleId).sort()).toEqual(
      before
        .filter((r) => r !== openSsh)
        .map((r) => r.SecurityGroupRuleId)
        .sort(),
    );
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true, state: { openRules: [] } });

    await control.rollback(plan, applied.before, ctx);
    const restored = (await ingressRules(ec2, resource.id)).find((r) => r.FromPort === 22 && r.CidrIpv4 === "0.0.0.0/0");
    expect(restored).toMatchObject({ IpProtocol: "tcp", ToPort: 22, Description: "vendor support" });
    expect(restored?.SecurityGroupRuleId).not.toBe(openSsh?.SecurityGroupRuleId);
    expect(await ingressRules(ec2, resource.id)).toHaveLength(before.length);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: expect.stringContaining("tcp port 22 from 0.0.0.0/0") });
  });

  it("changes nothing when the rule is already gone, and rollback then restores nothing", async () => {
    const { resource, ctx, plan } = await violation();
    await scenario.makeCompliant(moto, resource);
    const applied = await control.apply(plan, ctx);
    expect(applied.after).toEqual(applied.before);
    expect(applied.before).toMatchObject({ rules: [] });
    await control.rollback(plan, applied.before, ctx);
    await scenario.assertFixed(moto, resource);
  });

  it("refuses to apply to a deleted group, and refuses a captured state for another group", async () => {
    const { resource, ctx, plan } = await violation();
    await expect(control.rollback(plan, { groupId: "sg-0other", region: MOTO_REGION, rules: [] }, ctx)).rejects.toThrow(/field groupId/);
    await expect(control.rollback(plan, { groupId: resource.id, region: MOTO_REGION, rules: [{ cidr: 5 }] }, ctx)).rejects.toThrow(
      /field rules\.0/,
    );
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: resource.id }));
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "ResourceGoneError" });
  });
});

describe("ec2-security-group-open-to-world: sweep", () => {
  it("lists every group of the region once per unit of work, and detection finds the open one", async () => {
    const { resource } = await scenario.arrangeViolation(moto);
    const closed = groupRef(await createGroup(ec2, "closed"));
    const ctx = { ...live(), reads: new ReadCache() };
    const swept: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) swept.push(ref);
    expect(swept).toEqual(expect.arrayContaining([resource, closed]));
    const misses = ctx.reads.stats.misses;
    for await (const ref of control.sweep(ctx)) expect(ref.type).toBe("AWS::EC2::SecurityGroup");
    expect(ctx.reads.stats.misses).toBe(misses);
    expect(onlyViolation(await control.detect({ resource }, ctx)).confirmed).toBe(true);
    expect(onlyCleared(await control.detect({ resource: closed }, ctx))).toContain("no longer opens");
  });
});

describe.runIf(corpusAvailable())("ec2-security-group-open-to-world: real corpus records", () => {
  // The groups the corpus opens to the world on an admin port; every other group in it must not be flagged
  // (0.0.0.0/16 on 443, 127.0.0.1/32 on 22, 10.0.0.0/8, and records whose group id is redacted as "...").
  const open: Record<string, { ports: number[]; ruleId: string | null; cidr: string }> = {
    "sg-0d921df5d84f7270a": { ports: [22], ruleId: null, cidr: "0.0.0.0/0" },
    "sg-003dc7f1f1c686164": { ports: [22], ruleId: "sgr-09b3e3d2ca1edf2a2", cidr: "208.236.235.254/0" },
  };

  it("flags exactly the records that open an admin port to the whole internet", async () => {
    const events = corpusEventsFor(trigger);
    expect(events.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    const flagged = new Set<string>();
    for (const event of events) {
      for (const resource of trigger.resources(event)) seen.add(resource.id);
      for (const finding of await detectOffline(event)) {
        const expected = open[finding.resource.id];
        expect(expected, `${event.origin} flagged ${finding.resource.id}`).toBeDefined();
        expect(finding.evidence.rules).toMatchObject([expected]);
        flagged.add(finding.resource.id);
      }
    }
    expect([...flagged].sort()).toEqual(Object.keys(open).sort());
    expect(seen).toEqual(new Set([...Object.keys(open), "sg-04f0b44316f7d2471", "sg-1"]));
  });
});
