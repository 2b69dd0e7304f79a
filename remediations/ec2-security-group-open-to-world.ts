import { AuthorizeSecurityGroupIngressCommand, RevokeSecurityGroupIngressCommand, type IpPermission } from "@aws-sdk/client-ec2";
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
import { hasErrorCode } from "./lib/aws-errors";
import { parseControlData } from "./lib/control-data";
import {
  groupAttachments,
  readIngressRules,
  readSecurityGroupShared,
  requireIngressRules,
  securityGroupRef,
  securityGroupRefsFromEvent,
  securityGroups,
  type GroupAttachments,
} from "./lib/ec2-security-groups";
import { InvalidControlDataError } from "./lib/errors";
import {
  describeRule,
  exposure,
  ingressRuleSchema,
  isWholeInternet,
  normaliseCidr,
  rulesFromAuthorizeRequest,
  rulesFromAuthorizeResponse,
  sameAccess,
  type IngressRule,
} from "./lib/security-group-rules";

const CONTROL_ID = "ec2-security-group-open-to-world";

/**
 * Remote administration and database ports: SSH, RDP, SQL Server, Oracle, MySQL/Aurora, PostgreSQL, Redshift,
 * Redis, Elasticsearch/OpenSearch, MongoDB and Memcached. Open to the internet, each is a direct path to a host or
 * a data store that may hold ePHI.
 */
export const DEFAULT_ADMIN_PORTS = [22, 3389, 1433, 1521, 3306, 5432, 5439, 6379, 9200, 27017, 11211];

const optionsSchema = z
  .strictObject({
    /** TCP/UDP ports that must never be open to 0.0.0.0/0 or ::/0. Rules open to every port are always flagged. */
    ports: z
      .array(z.number({ error: "ports must be port numbers" }).int().min(0).max(65535, "ports must be 0-65535"))
      .min(1, "ports must name at least one port")
      .default(DEFAULT_ADMIN_PORTS),
  })
  .prefault({});

export type OpenToWorldOptions = z.output<typeof optionsSchema>;

/** A rule open to the whole internet, with what it opens among the watched ports. */
export type OpenRule = IngressRule & { allPorts: boolean; ports: number[] };

const openRuleSchema = ingressRuleSchema.extend({ allPorts: z.boolean(), ports: z.array(z.number().int()) });

const attachmentsSchema = z.object({ instances: z.array(z.string()), otherInterfaces: z.array(z.string()) });

const evidenceSchema = z.object({
  groupId: z.string().min(1),
  rules: z.array(openRuleSchema).min(1),
  attachments: attachmentsSchema.nullable(),
});

export type OpenToWorldPlanParams = {
  groupId: string;
  region: string;
  rules: OpenRule[];
};

const planParamsSchema = z.object({ groupId: z.string().min(1), region: z.string().min(1), rules: z.array(openRuleSchema).min(1) });

/** What apply captures: the full rules it revoked, so rollback can authorise them again. */
const capturedSchema = z.object({ groupId: z.string().min(1), region: z.string().min(1), rules: z.array(ingressRuleSchema) });

export class SecurityGroupRollbackError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SecurityGroupRollbackError";
  }
}

/** The rules among `rules` that open a watched port, or every port, to the whole internet. */
export function openRules(rules: readonly IngressRule[], watchedPorts: readonly number[]): OpenRule[] {
  return rules.flatMap((r) => {
    if (!isWholeInternet(r.cidr)) return [];
    const opened = exposure(r, watchedPorts);
    if (!opened.allPorts && opened.ports.length === 0) return [];
    return [{ ...r, ...opened }];
  });
}

/** "port 22", "ports 22, 3389", "every port": what the rules open, in words. */
function portsInWords(rules: readonly OpenRule[]): string {
  if (rules.some((r) => r.allPorts)) return "every port";
  const ports = [...new Set(rules.flatMap((r) => r.ports))].sort((a, b) => a - b);
  return ports.length === 1 ? `port ${ports[0]}` : `ports ${ports.join(", ")}`;
}

function internetFamilies(rules: readonly OpenRule[]): string {
  const families = [...new Set(rules.map((r) => (normaliseCidr(r.cidr)?.family === "ipv6" ? "::/0" : "0.0.0.0/0")))];
  return families.join(" and ");
}

function describeAttachments(attachments: GroupAttachments | null): string {
  if (!attachments) return "attachments unknown: detected offline";
  const parts = [
    attachments.instances.length > 0 ? `instances: ${attachments.instances.join(", ")}` : "no instances",
    ...(attachments.otherInterfaces.length > 0 ? [`other interfaces: ${attachments.otherInterfaces.join(", ")}`] : []),
  ];
  return parts.join("; ");
}

function violation(
  resource: ResourceRef,
  rules: OpenRule[],
  context: { confirmed: boolean; tags: Record<string, string>; attachments: GroupAttachments | null; event: ChangeEvent | undefined },
): Verdict {
  const finding: Finding = {
    control: CONTROL_ID,
    resource,
    summary: `Security group ${resource.id} opens ${portsInWords(rules)} to the whole internet (${internetFamilies(rules)})`,
    evidence: { groupId: resource.id, rules, attachments: context.attachments },
    confirmed: context.confirmed,
    tags: context.tags,
    ...(context.event ? { event: eventRef(context.event) } : {}),
  };
  return { kind: "violation", finding };
}

/**
 * Offline the event is all there is: the rules the response reports created (with their ids), else the rules
 * the request asked for.
 */
function detectOffline(resource: ResourceRef, event: ChangeEvent | undefined, ports: readonly number[]): Verdict[] {
  if (!event) return [];
  const created = rulesFromAuthorizeResponse(event.response).map(({ groupId: _groupId, ...r }) => r);
  const rules = openRules(created.length > 0 ? created : rulesFromAuthorizeRequest(event.request), ports);
  if (rules.length === 0) return [];
  return [violation(resource, rules, { confirmed: false, tags: {}, attachments: null, event })];
}

/** Live, the group as it is now decides: every rule that opens a watched port to the internet, whoever added it. */
async function detectLive(resource: ResourceRef, event: ChangeEvent | undefined, ctx: LiveContext<OpenToWorldOptions>): Promise<Verdict[]> {
  const ec2 = await ctx.aws.ec2(resource.region);
  const group = await readSecurityGroupShared(ctx, resource);
  if (!group) return [{ kind: "no-longer-applies", resource, reason: `security group ${resource.id} no longer exists` }];
  const ref = securityGroupRef(group.groupId, resource.account, resource.region);
  const rules = openRules(await readIngressRules(ec2, group.groupId), ctx.options.ports);
  if (rules.length === 0) {
    const reason = `security group ${group.groupId} no longer opens an admin or database port, or every port, to the internet`;
    return [{ kind: "no-longer-applies", resource: ref, reason }];
  }
  const attachments = await groupAttachments(ec2, group.groupId);
  return [violation(ref, rules, { confirmed: true, tags: group.tags, attachments, event })];
}

/** The live rules a plan names: by rule id, or by content for rules detected offline without an id. */
function plannedRulesIn(live: readonly IngressRule[], planned: readonly IngressRule[]): IngressRule[] {
  return live.filter((r) => planned.some((p) => (p.ruleId !== null ? p.ruleId === r.ruleId : sameAccess(p, r))));
}

function permissionOf(r: IngressRule): IpPermission {
  const description = r.description !== null ? { Description: r.description } : {};
  const range =
    normaliseCidr(r.cidr)?.family === "ipv6"
      ? { Ipv6Ranges: [{ CidrIpv6: r.cidr, ...description }] }
      : { IpRanges: [{ CidrIp: r.cidr, ...description }] };
  return {
    IpProtocol: r.protocol,
    ...(r.protocol === "-1" || r.fromPort === null ? {} : { FromPort: r.fromPort }),
    ...(r.protocol === "-1" || r.toPort === null ? {} : { ToPort: r.toPort }),
    ...range,
  };
}

function readPlan(plan: Plan<OpenToWorldPlanParams>): OpenToWorldPlanParams {
  return parseControlData(planParamsSchema, plan.params, `plan for ${CONTROL_ID}`);
}

export const control = defineControl<OpenToWorldOptions, OpenToWorldPlanParams>({
  id: CONTROL_ID,
  title: "Security groups do not open admin or database ports to the whole internet",
  category: "public-exposure",
  hipaa: {
    sections: [...CATEGORIES["public-exposure"].hipaa],
    why: "A security group that lets anyone on the internet reach SSH, RDP or a database port exposes the systems holding ePHI to every attacker, defeating the access control of 164.312(a)(1).",
  },
  severity: "critical",
  // Revoking a rule can cut legitimate access (a vendor's SSH, a partner's database link): a person approves.
  defaultMode: "approve",
  options: optionsSchema,
  triggers: [{ source: "ec2.amazonaws.com", name: "AuthorizeSecurityGroupIngress", resources: securityGroupRefsFromEvent }],
  permissions: {
    detect: ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:DescribeNetworkInterfaces"],
    apply: ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:RevokeSecurityGroupIngress"],
    rollback: ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules", "ec2:AuthorizeSecurityGroupIngress"],
  },

  async detect(input, ctx: ControlContext<OpenToWorldOptions>) {
    if (!ctx.aws) return detectOffline(input.resource, input.event, ctx.options.ports);
    return detectLive(input.resource, input.event, { ...ctx, aws: ctx.aws });
  },

  plan(finding): Plan<OpenToWorldPlanParams> {
    const evidence = parseControlData(evidenceSchema, finding.evidence, `evidence of ${CONTROL_ID} for ${finding.resource.arn}`);
    const group = evidence.groupId;
    const revokes = evidence.rules.map(
      (r) => `RevokeSecurityGroupIngress on ${group}: rule ${r.ruleId ?? "(id looked up by content)"}, ${describeRule(r)}.`,
    );
    return {
      control: CONTROL_ID,
      resource: finding.resource,
      summary: `Revoke ${evidence.rules.length} rule(s) of ${group} that open ${portsInWords(evidence.rules)} to the whole internet.`,
      steps: [
        `Read the ingress rules of ${group} and keep each rule to revoke in full (protocol, ports, range, description) for rollback.`,
        ...revokes,
        `Nothing else changes: every other rule of ${group} stays.`,
        `Who loses what: anyone on the internet loses access to ${portsInWords(evidence.rules)} of ${group} (${describeAttachments(evidence.attachments)}). Access from other ranges and groups is unchanged.`,
        "Rollback authorises the same rules again (they get new rule ids).",
      ],
      reversible: true,
      params: { groupId: group, region: finding.resource.region, rules: evidence.rules },
    };
  },

  async apply(plan, ctx) {
    const params = readPlan(plan);
    const ec2 = await ctx.aws.ec2(params.region);
    const present = plannedRulesIn(await requireIngressRules(ec2, params.groupId, params.region), params.rules);
    const before = { groupId: params.groupId, region: params.region, rules: present };
    // Rules removed since the finding stay removed; a redelivered apply finds nothing left and changes nothing.
    const ids = present.flatMap((r) => (r.ruleId ? [r.ruleId] : []));
    if (ids.length === 0) return { before, after: before };
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: params.groupId, SecurityGroupRuleIds: ids }));
    return { before, after: { groupId: params.groupId, region: params.region, rules: [] } };
  },

  async verify(plan, ctx) {
    const params = readPlan(plan);
    const live = await readIngressRules(await ctx.aws.ec2(params.region), params.groupId);
    const open = live.filter((r) => params.rules.some((p) => p.ruleId === r.ruleId || sameAccess(p, r)));
    const state: JsonObject = { groupId: params.groupId, openRules: open };
    if (open.length === 0) return { ok: true, state };
    return { ok: false, state, detail: `security group ${params.groupId} still has ${open.map(describeRule).join("; ")}` };
  },

  async rollback(plan, before, ctx) {
    const params = readPlan(plan);
    const previous = parseControlData(capturedSchema, before, `state captured before ${CONTROL_ID} changed ${params.groupId}`);
    if (previous.groupId !== params.groupId) {
      throw new InvalidControlDataError(`field groupId: captured state is for ${previous.groupId}, the plan is for ${params.groupId}`);
    }
    const ec2 = await ctx.aws.ec2(previous.region);
    const live = await requireIngressRules(ec2, previous.groupId, previous.region);
    const missing = previous.rules.filter((r) => !live.some((l) => sameAccess(l, r)));
    for (const r of missing) {
      try {
        await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: previous.groupId, IpPermissions: [permissionOf(r)] }));
      } catch (error) {
        // Someone put the same rule back meanwhile: the access is restored either way.
        if (!hasErrorCode(error, "InvalidPermission.Duplicate")) throw error;
      }
    }
    // The rules come back with new ids, so they are checked by content.
    const after = await readIngressRules(ec2, previous.groupId);
    const absent = previous.rules.filter((r) => !after.some((l) => sameAccess(l, r)));
    if (absent.length > 0) {
      throw new SecurityGroupRollbackError(
        `security group ${previous.groupId} is missing ${absent.map(describeRule).join("; ")} after rollback`,
      );
    }
  },

  sweep: (ctx) => securityGroups.list(ctx),
});
