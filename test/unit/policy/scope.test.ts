import { describe, expect, it } from "vitest";
import { outOfScopeReason, parsePolicy, PolicyError, scopeRegions } from "@hipaa-remediate/core";

const HOME = "123456789012";
const MEMBER = "111111111111";

function scopeOf(yaml: string) {
  return parsePolicy(yaml, "policy.yaml", []).scope;
}

function messageOf(yaml: string): string {
  try {
    parsePolicy(yaml, "policy.yaml", []);
  } catch (error) {
    if (error instanceof PolicyError) return error.message;
    throw error;
  }
  throw new Error("the policy was accepted");
}

describe("scope messages", () => {
  it("says what regions and accounts take instead of zod's 'Invalid input'", () => {
    expect(messageOf("scope: { regions: all }")).toContain(
      'scope.regions: expected "all-enabled" or a list of region names, e.g. [us-east-1, eu-west-1], got "all"',
    );
    expect(messageOf("scope: { regions: 5 }")).toContain('scope.regions: expected "all-enabled" or a list of region names');
    expect(messageOf("scope: { organization: { id: o-a1b2c3d4e5, externalId: ext-1, accounts: every } }")).toContain(
      'scope.organization.accounts: expected "all" or a list of 12-digit account ids, e.g. ["111122223333"], got "every"',
    );
  });

  it("keeps the precise message of a bad item inside a list", () => {
    expect(messageOf("scope: { regions: [eu-west-1, Europe] }")).toContain("scope.regions[1]: expected an AWS region name");
  });
});

describe("outOfScopeReason", () => {
  const event = (account: string, region: string, source = "s3.amazonaws.com") => ({ account, region, source });

  it("accepts the home account in a scoped region, and global services' events from us-east-1 whatever the regions", () => {
    const scope = scopeOf("scope: { regions: [eu-west-1] }");
    expect(scopeRegions(scope)).toEqual(["eu-west-1"]);
    expect(outOfScopeReason(event(HOME, "eu-west-1"), scope, HOME)).toBeUndefined();
    expect(outOfScopeReason(event(HOME, "us-east-1", "iam.amazonaws.com"), scope, HOME)).toBeUndefined();
    expect(outOfScopeReason(event(HOME, "us-east-1"), scope, HOME)).toBe(
      "region us-east-1 is outside the policy's scope: scope.regions lists eu-west-1; add the region to act on its events",
    );
  });

  it("rejects opt-in regions under all-enabled, saying they must be listed", () => {
    expect(outOfScopeReason(event(HOME, "af-south-1"), scopeOf("{}"), HOME)).toContain("opt-in regions must be listed by name");
  });

  it("rejects a foreign account without an organisation, and one missing from the organisation's list", () => {
    expect(outOfScopeReason(event(MEMBER, "us-east-1"), scopeOf("{}"), HOME)).toContain("the policy has no scope.organization");
    const listed = scopeOf(`scope: { organization: { id: o-a1b2c3d4e5, externalId: ext-1, accounts: ["${MEMBER}"] } }`);
    expect(outOfScopeReason(event(MEMBER, "us-east-1"), listed, HOME)).toBeUndefined();
    expect(outOfScopeReason(event("222222222222", "us-east-1"), listed, HOME)).toContain("not in scope.organization.accounts");
    const all = scopeOf("scope: { organization: { id: o-a1b2c3d4e5, externalId: ext-1 } }");
    expect(outOfScopeReason(event("222222222222", "us-east-1"), all, HOME)).toBeUndefined();
  });

  it("does not check accounts when the engine's own account is unknown (a replay of someone's history)", () => {
    expect(outOfScopeReason(event(MEMBER, "us-east-1"), scopeOf("{}"), undefined)).toBeUndefined();
  });
});
