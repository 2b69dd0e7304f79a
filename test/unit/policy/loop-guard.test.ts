import { describe, expect, it } from "vitest";
import {
  carriesEngineUserAgent,
  engineIdentity,
  isEngineChange,
  parsePolicy,
  tagConventions,
  type Actor,
  type ChangeEvent,
} from "@hipaa-remediate/core";

const ENGINE_ROLE = "arn:aws:iam::123456789012:role/service/hipaa-remediate-engine";
const policy = parsePolicy(`engine: { principals: ["${ENGINE_ROLE}"] }`, "policy.yaml", []);
const identity = engineIdentity(policy, ["arn:aws:iam::123456789012:user/remediation-bot", ENGINE_ROLE]);

function event(actor: Actor): ChangeEvent {
  return {
    id: "e1",
    time: "2026-06-15T12:00:00Z",
    account: "123456789012",
    region: "us-east-1",
    actor,
    source: "s3.amazonaws.com",
    name: "PutBucketEncryption",
    request: null,
    response: null,
    origin: "test",
  };
}

describe("engine identity", () => {
  it("joins the policy's principals with the deployment's, once each, and fixes the user agent and tag key", () => {
    expect(identity).toEqual({
      principals: [ENGINE_ROLE, "arn:aws:iam::123456789012:user/remediation-bot"],
      userAgent: "hipaa-remediate",
      tagKey: "hipaa-remediate:managed",
    });
  });
});

describe("loop guard", () => {
  it("recognises a change made by an engine user", () => {
    expect(isEngineChange(event({ type: "IAMUser", arn: "arn:aws:iam::123456789012:user/remediation-bot" }), identity)).toBe(true);
  });

  it("recognises a session of the engine role by its session issuer", () => {
    const actor: Actor = {
      type: "AssumedRole",
      arn: "arn:aws:sts::123456789012:assumed-role/hipaa-remediate-engine/engine-lambda",
      issuerArn: ENGINE_ROLE,
    };
    expect(isEngineChange(event(actor), identity)).toBe(true);
  });

  it("recognises an assumed-role ARN alone, although it drops the role's path", () => {
    const actor: Actor = { type: "AssumedRole", arn: "arn:aws:sts::123456789012:assumed-role/hipaa-remediate-engine/1718452800000" };
    expect(isEngineChange(event(actor), identity)).toBe(true);
  });

  it("does not exempt a change for the engine's user agent alone: anyone can send it", () => {
    const actor: Actor = {
      type: "IAMUser",
      arn: "arn:aws:iam::123456789012:user/someone",
      userAgent: "aws-sdk-js/3.1169.0 ua/2.1 os/linux lang/js md/nodejs#20.20.2 api/s3#3.1169.0 hipaa-remediate",
    };
    expect(isEngineChange(event(actor), identity)).toBe(false);
    expect(carriesEngineUserAgent(event(actor), identity)).toBe(true);
  });

  it("recognises the member role's sessions in the organisation's accounts, and only there", () => {
    const scoped = parsePolicy(
      `scope: { organization: { id: o-a1b2c3d4e5, externalId: hipaa-ext-1, accounts: ["111111111111", "222222222222"] } }`,
      "policy.yaml",
      [],
    );
    const member = engineIdentity(scoped, [ENGINE_ROLE]);
    expect(member.memberRole).toEqual({ name: "hipaa-remediate-remediation", accounts: ["111111111111", "222222222222"] });
    const session: Actor = {
      type: "AssumedRole",
      arn: "arn:aws:sts::111111111111:assumed-role/hipaa-remediate-remediation/hipaa-remediate-engine",
      issuerArn: "arn:aws:iam::111111111111:role/hipaa-remediate-remediation",
    };
    expect(isEngineChange(event(session), member)).toBe(true);
    expect(
      isEngineChange(event({ type: "AssumedRole", arn: "arn:aws:sts::222222222222:assumed-role/hipaa-remediate-remediation/s" }), member),
    ).toBe(true);
    // The same role name in an account the engine does not act in, and another role in a member account.
    expect(
      isEngineChange(event({ type: "AssumedRole", arn: "arn:aws:sts::333333333333:assumed-role/hipaa-remediate-remediation/s" }), member),
    ).toBe(false);
    expect(
      isEngineChange(event({ type: "AssumedRole", arn: "arn:aws:sts::111111111111:assumed-role/hipaa-remediate-remediation-x/s" }), member),
    ).toBe(false);
    // Without an organisation the member role is nobody's.
    expect(isEngineChange(event(session), identity)).toBe(false);
  });

  it("with accounts: all, recognises the member role in any account", () => {
    const all = engineIdentity(
      parsePolicy(`scope: { organization: { id: o-a1b2c3d4e5, externalId: hipaa-ext-1, memberRole: fixer } }`, "policy.yaml", []),
    );
    expect(isEngineChange(event({ type: "AssumedRole", arn: "arn:aws:sts::444444444444:assumed-role/fixer/s" }), all)).toBe(true);
  });

  it("does not mistake other principals for the engine", () => {
    const others: Actor[] = [
      { type: "IAMUser", arn: "arn:aws:iam::123456789012:user/alice", userAgent: "console.amazonaws.com" },
      {
        type: "AssumedRole",
        arn: "arn:aws:sts::123456789012:assumed-role/hipaa-remediate-engine-dev/s",
        issuerArn: "arn:aws:iam::123456789012:role/hipaa-remediate-engine-dev",
      },
      { type: "AssumedRole", arn: "arn:aws:sts::999999999999:assumed-role/hipaa-remediate-engine/s" },
      { type: "IAMUser", arn: "arn:aws-us-gov:iam::123456789012:user/remediation-bot" },
      { type: "AWSService", invokedBy: "cloudformation.amazonaws.com" },
      { type: "Unknown" },
    ];
    for (const actor of others) expect(isEngineChange(event(actor), identity), JSON.stringify(actor)).toBe(false);
  });

  it("an identity with no principals and no user agent recognises nothing", () => {
    const empty = { principals: [], userAgent: "", tagKey: "hipaa-remediate:managed" };
    expect(isEngineChange(event({ type: "IAMUser", arn: "arn:aws:iam::123456789012:user/remediation-bot", userAgent: "x" }), empty)).toBe(
      false,
    );
  });
});

describe("tag conventions", () => {
  it("hands controls a copy of the policy's tag conventions", () => {
    const conventions = tagConventions(policy);
    expect(conventions).toEqual({
      phi: { keys: ["DataClassification", "PHI"], values: ["PHI", "true"] },
      environment: { keys: ["Environment", "Env", "Stage"], nonProduction: ["dev", "development", "test", "sandbox", "staging"] },
      breakGlassRoles: [],
    });
    conventions.phi.keys.push("Sensitive");
    expect(policy.tags.phi.keys).toEqual(["DataClassification", "PHI"]);
  });
});
