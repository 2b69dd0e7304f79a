import type { SecurityGroupRule } from "@aws-sdk/client-ec2";
import type { JsonValue } from "@hipaa-remediate/core";
import { z } from "zod";
import { objectAt, objectsOf, stringOf } from "./json-fields";

/**
 * Security group ingress rules, one source range each, from the two request shapes CloudTrail records for
 * AuthorizeSecurityGroupIngress, from its response, and from DescribeSecurityGroupRules. Every control that
 * reasons about who can reach a port reads rules through this module, so a CIDR is judged the same way
 * everywhere: `208.236.235.254/0` is the whole internet, whatever address is written before the `/0`.
 */

/** One ingress rule for one source range. Ports are null for protocols without ports (and for "all"). */
export type IngressRule = {
  /** `sgr-…`, when known (the response and DescribeSecurityGroupRules carry it; the request does not). */
  ruleId: string | null;
  /** Normalised: "tcp", "udp", "icmp", "icmpv6", "-1" for every protocol, or the protocol number as written. */
  protocol: string;
  fromPort: number | null;
  toPort: number | null;
  /** The range exactly as written or stored, so a rollback puts back what was there. */
  cidr: string;
  description: string | null;
};

export const ingressRuleSchema = z.object({
  ruleId: z.string().min(1).nullable(),
  protocol: z.string().min(1),
  fromPort: z.number().int().nullable(),
  toPort: z.number().int().nullable(),
  cidr: z.string().min(1),
  description: z.string().nullable(),
});

export type IpFamily = "ipv4" | "ipv6";

/** A CIDR reduced to its network: the address with the host bits cleared, in one canonical spelling. */
export type NormalisedCidr = { family: IpFamily; network: string; prefix: number; canonical: string };

function parseIpv4(address: string): number[] | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  const octets = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : Number.NaN));
  return octets.every((octet) => octet >= 0 && octet <= 255) ? octets : undefined;
}

/** The eight 16-bit groups of an IPv6 address, expanding `::`. An embedded IPv4 tail (`::ffff:1.2.3.4`) is accepted. */
function parseIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const tail = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (tail?.[1]) {
    const v4 = parseIpv4(tail[1]);
    if (!v4) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    text = `${text.slice(0, -tail[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string | undefined) => (part ? part.split(":") : []);
  const head = groupsOf(halves[0]);
  const rest = groupsOf(halves[1]);
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const groups = all.map((group) => (/^[0-9a-f]{1,4}$/.test(group) ? Number.parseInt(group, 16) : Number.NaN));
  return groups.every((group) => !Number.isNaN(group)) ? groups : undefined;
}

/** Clears every bit after the first `prefix` bits of `units`, each `width` bits wide. */
function maskBits(units: number[], width: number, prefix: number): number[] {
  return units.map((unit, index) => {
    const keep = Math.max(0, Math.min(width, prefix - index * width));
    const mask = keep === 0 ? 0 : ((2 ** width - 1) >> (width - keep)) << (width - keep);
    return unit & mask;
  });
}

/** RFC 5952 spelling: lower case, leading zeros dropped, the longest run of two or more zero groups as `::`. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < groups.length;) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end += 1;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/**
 * The network a CIDR names, or undefined when it is not a CIDR (a redacted "...", a typo). A bare address is a
 * single host (/32 or /128). Host bits are cleared, so `208.236.235.254/0` and `0.0.0.0/0` are the same network.
 */
export function normaliseCidr(text: string): NormalisedCidr | undefined {
  const [address = "", prefixText, extra] = text.trim().split("/");
  if (extra !== undefined) return undefined;
  const family: IpFamily = address.includes(":") ? "ipv6" : "ipv4";
  const width = family === "ipv4" ? 32 : 128;
  const prefix = prefixText === undefined ? width : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= width)) return undefined;
  if (family === "ipv4") {
    const octets = parseIpv4(address);
    if (!octets) return undefined;
    const network = maskBits(octets, 8, prefix).join(".");
    return { family, network, prefix, canonical: `${network}/${prefix}` };
  }
  const groups = parseIpv6(address);
  if (!groups) return undefined;
  const network = formatIpv6(maskBits(groups, 16, prefix));
  return { family, network, prefix, canonical: `${network}/${prefix}` };
}

/** True when the range is the whole internet (any `/0`), IPv4 or IPv6. */
export function isWholeInternet(cidr: string): boolean {
  return normaliseCidr(cidr)?.prefix === 0;
}

const PROTOCOL_NAMES: Record<string, string> = { "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", all: "-1" };

export function normaliseProtocol(protocol: string): string {
  const lower = protocol.trim().toLowerCase();
  return PROTOCOL_NAMES[lower] ?? lower;
}

/** A port CloudTrail recorded as a number or as a string such as "443". */
function portOf(value: JsonValue | null | undefined): number | null {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return Number(value.trim());
  return null;
}

function rule(fields: {
  ruleId?: string | undefined;
  protocol: string | undefined;
  fromPort: number | null;
  toPort: number | null;
  cidr: string | undefined;
  description?: string | undefined;
}): IngressRule[] {
  if (!fields.protocol || !fields.cidr) return [];
  return [
    {
      ruleId: fields.ruleId ?? null,
      protocol: normaliseProtocol(fields.protocol),
      fromPort: fields.fromPort,
      toPort: fields.toPort,
      cidr: fields.cidr,
      description: fields.description ?? null,
    },
  ];
}

/**
 * The rules an AuthorizeSecurityGroupIngress request adds, from either shape: `ipPermissions.items[]` with
 * `ipRanges.items[].cidrIp` and `ipv6Ranges.items[].cidrIpv6`, or the older flat `cidrIp`, `fromPort`, `toPort`,
 * `ipProtocol` beside an empty `ipPermissions`. Permissions that name other groups or prefix lists add no CIDR.
 */
export function rulesFromAuthorizeRequest(request: JsonValue | null | undefined): IngressRule[] {
  const permissions = objectsOf(objectAt(request, "ipPermissions")?.items).flatMap((permission) => {
    const base = {
      protocol: stringOf(permission.ipProtocol),
      fromPort: portOf(permission.fromPort),
      toPort: portOf(permission.toPort),
    };
    const v4 = objectsOf(objectAt(permission, "ipRanges")?.items).map((range) => ({
      cidr: stringOf(range.cidrIp),
      description: stringOf(range.description),
    }));
    const v6 = objectsOf(objectAt(permission, "ipv6Ranges")?.items).map((range) => ({
      cidr: stringOf(range.cidrIpv6),
      description: stringOf(range.description),
    }));
    return [...v4, ...v6].flatMap((range) => rule({ ...base, ...range }));
  });
  const flat = objectAt(request);
  const flatRule = flat
    ? rule({
        protocol: stringOf(flat.ipProtocol),
        fromPort: portOf(flat.fromPort),
        toPort: portOf(flat.toPort),
        cidr: stringOf(flat.cidrIp) ?? stringOf(flat.cidrIpv6),
      })
    : [];
  return [...permissions, ...flatRule];
}

/** The rules an AuthorizeSecurityGroupIngress response reports created, with their ids and groups. */
export function rulesFromAuthorizeResponse(response: JsonValue | null | undefined): (IngressRule & { groupId: string | null })[] {
  return objectsOf(objectAt(response, "securityGroupRuleSet")?.items).flatMap((item) => {
    if (item.isEgress === true || item.isEgress === "true") return [];
    const found = rule({
      ruleId: stringOf(item.securityGroupRuleId),
      protocol: stringOf(item.ipProtocol),
      fromPort: portOf(item.fromPort),
      toPort: portOf(item.toPort),
      cidr: stringOf(item.cidrIpv4) ?? stringOf(item.cidrIpv6),
      description: stringOf(item.description),
    });
    return found.map((r) => ({ ...r, groupId: stringOf(item.groupId) ?? null }));
  });
}

/** An ingress rule as DescribeSecurityGroupRules returns it; egress rules and rules without a CIDR give nothing. */
export function ruleFromApi(api: SecurityGroupRule): IngressRule[] {
  if (api.IsEgress) return [];
  const ports = (value: number | undefined) => (value === undefined ? null : value);
  return rule({
    ruleId: api.SecurityGroupRuleId,
    protocol: api.IpProtocol,
    fromPort: ports(api.FromPort),
    toPort: ports(api.ToPort),
    cidr: api.CidrIpv4 ?? api.CidrIpv6,
    description: api.Description,
  });
}

/** Which of `watchedPorts` a rule opens, and whether it opens every port. */
export type PortExposure = { allPorts: boolean; ports: number[] };

const PORTED_PROTOCOLS = new Set(["tcp", "udp"]);
const HIGHEST_PORT = 65535;

/**
 * What a rule opens among `watchedPorts`. Protocol "-1" opens everything; a TCP or UDP range from 0 or 1 up to
 * 65535 opens every port of that protocol; a range that includes a watched port opens it. ICMP and other
 * protocols have no ports to open. Unknown ports (a redacted record) prove nothing.
 */
export function exposure(r: IngressRule, watchedPorts: readonly number[]): PortExposure {
  if (r.protocol === "-1") return { allPorts: true, ports: [...watchedPorts] };
  if (!PORTED_PROTOCOLS.has(r.protocol) || r.fromPort === null || r.toPort === null) return { allPorts: false, ports: [] };
  const [from, to] = [r.fromPort, r.toPort];
  const allPorts = from <= 1 && to >= HIGHEST_PORT;
  return { allPorts, ports: watchedPorts.filter((port) => port >= from && port <= to) };
}

/** Two rules grant the same access: same protocol, ports and network (so `1.2.3.4/0` equals `0.0.0.0/0`). */
export function sameAccess(a: IngressRule, b: IngressRule): boolean {
  const network = (r: IngressRule) => normaliseCidr(r.cidr)?.canonical ?? r.cidr;
  const ports = (r: IngressRule) => (r.protocol === "-1" ? "all" : `${r.fromPort ?? ""}-${r.toPort ?? ""}`);
  return a.protocol === b.protocol && ports(a) === ports(b) && network(a) === network(b);
}

/** "tcp port 22", "tcp ports 0-65535", "all traffic", for plans and summaries. */
export function describeRule(r: IngressRule): string {
  const ports =
    r.protocol === "-1"
      ? "all traffic"
      : r.fromPort === null || r.toPort === null || r.fromPort === -1
        ? `${r.protocol}`
        : r.fromPort === r.toPort
          ? `${r.protocol} port ${r.fromPort}`
          : `${r.protocol} ports ${r.fromPort}-${r.toPort}`;
  return `${ports} from ${r.cidr}`;
}
