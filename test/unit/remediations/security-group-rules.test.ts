import type { JsonObject } from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";
import {
  describeRule,
  exposure,
  isWholeInternet,
  normaliseCidr,
  ruleFromApi,
  rulesFromAuthorizeRequest,
  rulesFromAuthorizeResponse,
  sameAccess,
  type IngressRule,
} from "../../../remediations/lib/security-group-rules";

const ADMIN = [22, 3389, 5432];

function tcp(fromPort: number | null, toPort: number | null, cidr = "0.0.0.0/0"): IngressRule {
  return { ruleId: null, protocol: "tcp", fromPort, toPort, cidr, description: null };
}

describe("normaliseCidr", () => {
  it("clears host bits, so any /0 is the whole internet whatever address precedes it", () => {
    expect(normaliseCidr("208.236.235.254/0")).toEqual({ family: "ipv4", network: "0.0.0.0", prefix: 0, canonical: "0.0.0.0/0" });
    expect(normaliseCidr("10.1.2.3/8")?.canonical).toBe("10.0.0.0/8");
    expect(normaliseCidr("0.0.0.0/16")?.canonical).toBe("0.0.0.0/16");
    expect(normaliseCidr("192.0.2.7")?.canonical).toBe("192.0.2.7/32");
  });

  it("handles IPv6, including :: and an IPv4 tail, in RFC 5952 spelling", () => {
    expect(normaliseCidr("::/0")?.canonical).toBe("::/0");
    expect(normaliseCidr("2001:DB8::1/0")?.canonical).toBe("::/0");
    expect(normaliseCidr("2001:db8:0:0:1:0:0:1/64")?.canonical).toBe("2001:db8::/64");
    expect(normaliseCidr("::ffff:192.0.2.1/128")?.canonical).toBe("::ffff:c000:201/128");
    expect(normaliseCidr("2001:db8::/32")?.family).toBe("ipv6");
  });

  it("answers undefined for what is not a CIDR: redactions, typos, prefixes out of range", () => {
    for (const bad of ["...", "", "300.1.1.1/8", "10.0.0.0/33", "10.0.0/8", "1::2::3/64", "::/129", "10.0.0.0/8/1", "abc"]) {
      expect(normaliseCidr(bad), bad).toBeUndefined();
    }
    expect(isWholeInternet("...")).toBe(false);
    expect(isWholeInternet("0.0.0.0/1")).toBe(false);
    expect(isWholeInternet("1.2.3.4/0")).toBe(true);
  });
});

describe("rulesFromAuthorizeRequest: the two request shapes CloudTrail records", () => {
  it("reads ipPermissions.items[] with IPv4 and IPv6 ranges, and ports written as strings", () => {
    const request: JsonObject = {
      groupId: "sg-04f0b44316f7d2471",
      ipPermissions: {
        items: [
          {
            ipProtocol: "tcp",
            fromPort: "443",
            toPort: "443",
            groups: {},
            ipRanges: { items: [{ cidrIp: "0.0.0.0/16" }] },
            ipv6Ranges: {},
            prefixListIds: {},
          },
          {
            ipProtocol: "-1",
            groups: {},
            ipRanges: { items: [{ cidrIp: "0.0.0.0/0", description: "..." }] },
            ipv6Ranges: { items: [{ cidrIpv6: "::/0", description: "open" }] },
            prefixListIds: {},
          },
        ],
      },
    };
    expect(rulesFromAuthorizeRequest(request)).toEqual([
      { ruleId: null, protocol: "tcp", fromPort: 443, toPort: 443, cidr: "0.0.0.0/16", description: null },
      { ruleId: null, protocol: "-1", fromPort: null, toPort: null, cidr: "0.0.0.0/0", description: null },
      { ruleId: null, protocol: "-1", fromPort: null, toPort: null, cidr: "::/0", description: "open" },
    ]);
  });

  it("reads the older flat shape beside an empty ipPermissions", () => {
    const request = {
      cidrIp: "208.236.235.254/0",
      fromPort: 22,
      groupId: "sg-003dc7f1f1c686164",
      ipPermissions: {},
      ipProtocol: "tcp",
      toPort: 22,
    };
    expect(rulesFromAuthorizeRequest(request)).toEqual([tcp(22, 22, "208.236.235.254/0")]);
  });

  it("tolerates null parameters, a single permission object, group-to-group rules and numeric protocols", () => {
    expect(rulesFromAuthorizeRequest(null)).toEqual([]);
    expect(rulesFromAuthorizeRequest({ groupName: "web", sourceSecurityGroupName: "lb", ipPermissions: {} })).toEqual([]);
    const single = {
      ipPermissions: { items: { ipProtocol: "6", fromPort: 3389, toPort: 3389, ipRanges: { items: { cidrIp: "1.2.3.4/0" } } } },
    };
    expect(rulesFromAuthorizeRequest(single)).toEqual([tcp(3389, 3389, "1.2.3.4/0")]);
    const groups = {
      ipPermissions: { items: [{ ipProtocol: "tcp", fromPort: 22, toPort: 22, groups: { items: [{ groupId: "sg-1" }] } }] },
    };
    expect(rulesFromAuthorizeRequest(groups)).toEqual([]);
  });
});

describe("rulesFromAuthorizeResponse and ruleFromApi", () => {
  it("reads securityGroupRuleSet.items[] with ids and groups, skipping egress", () => {
    const response: JsonObject = {
      _return: true,
      securityGroupRuleSet: {
        items: [
          {
            cidrIpv4: "208.236.235.254/0",
            fromPort: 22,
            groupId: "sg-003dc7f1f1c686164",
            ipProtocol: "tcp",
            isEgress: false,
            securityGroupRuleId: "sgr-09b3e3d2ca1edf2a2",
            toPort: 22,
          },
          {
            cidrIpv6: "::/0",
            fromPort: -1,
            groupId: "sg-003dc7f1f1c686164",
            ipProtocol: "-1",
            isEgress: false,
            securityGroupRuleId: "sgr-2",
            toPort: -1,
          },
          { cidrIpv4: "0.0.0.0/0", ipProtocol: "-1", isEgress: true, securityGroupRuleId: "sgr-3" },
        ],
      },
    };
    expect(rulesFromAuthorizeResponse(response)).toEqual([
      { ...tcp(22, 22, "208.236.235.254/0"), ruleId: "sgr-09b3e3d2ca1edf2a2", groupId: "sg-003dc7f1f1c686164" },
      { ruleId: "sgr-2", protocol: "-1", fromPort: -1, toPort: -1, cidr: "::/0", description: null, groupId: "sg-003dc7f1f1c686164" },
    ]);
    expect(rulesFromAuthorizeResponse({ _return: true })).toEqual([]);
  });

  it("reads DescribeSecurityGroupRules entries, keeping the description", () => {
    expect(
      ruleFromApi({
        SecurityGroupRuleId: "sgr-1",
        GroupId: "sg-1",
        IsEgress: false,
        IpProtocol: "tcp",
        FromPort: 22,
        ToPort: 22,
        CidrIpv4: "0.0.0.0/0",
        Description: "ssh",
      }),
    ).toEqual([{ ruleId: "sgr-1", protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0", description: "ssh" }]);
    expect(ruleFromApi({ SecurityGroupRuleId: "sgr-2", IsEgress: true, IpProtocol: "-1", CidrIpv4: "0.0.0.0/0" })).toEqual([]);
    expect(ruleFromApi({ SecurityGroupRuleId: "sgr-3", IsEgress: false, IpProtocol: "tcp", FromPort: 22, ToPort: 22 })).toEqual([]);
  });
});

describe("exposure and sameAccess", () => {
  it("a range that includes a watched port opens it; all traffic and full ranges open every port", () => {
    expect(exposure(tcp(22, 22), ADMIN)).toEqual({ allPorts: false, ports: [22] });
    expect(exposure(tcp(20, 3400), ADMIN)).toEqual({ allPorts: false, ports: [22, 3389] });
    expect(exposure(tcp(443, 443), ADMIN)).toEqual({ allPorts: false, ports: [] });
    expect(exposure(tcp(0, 65535), ADMIN)).toEqual({ allPorts: true, ports: ADMIN });
    expect(exposure({ ...tcp(null, null), protocol: "-1" }, ADMIN)).toEqual({ allPorts: true, ports: ADMIN });
    expect(exposure({ ...tcp(-1, -1), protocol: "icmp" }, ADMIN)).toEqual({ allPorts: false, ports: [] });
    expect(exposure(tcp(null, null), ADMIN)).toEqual({ allPorts: false, ports: [] });
  });

  it("compares protocol, ports and network, so a rule re-added with a new id matches", () => {
    expect(sameAccess({ ...tcp(22, 22, "208.236.235.254/0"), ruleId: "sgr-1" }, { ...tcp(22, 22), ruleId: "sgr-2" })).toBe(true);
    expect(sameAccess(tcp(22, 22), tcp(22, 23))).toBe(false);
    expect(sameAccess(tcp(22, 22), tcp(22, 22, "::/0"))).toBe(false);
    expect(sameAccess({ ...tcp(-1, -1), protocol: "-1" }, { ...tcp(null, null), protocol: "-1" })).toBe(true);
  });

  it("describes rules in plain words", () => {
    expect(describeRule(tcp(22, 22))).toBe("tcp port 22 from 0.0.0.0/0");
    expect(describeRule(tcp(0, 65535, "::/0"))).toBe("tcp ports 0-65535 from ::/0");
    expect(describeRule({ ...tcp(null, null), protocol: "-1" })).toBe("all traffic from 0.0.0.0/0");
  });
});
