import { describe, expect, it } from "vitest";
import { engineIdentity, isEngineChange, parsePolicy, tagConventions, type Actor, type ChangeEvent } from "@hipaa-remediate/core";

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

  it("recognises the engine's user agent inside the SDK's full user agent", () => {
    const actor: Actor = {
      type: "IAMUser",
      arn: "arn:aws:iam::123456789012:user/someone",
      userAgent: "aws-sdk-js/3.1169.0 ua/2.1 os/linux lang/js md/nodejs#20.20.2 api/s3#3.1169.0 hipaa-remediate",
    };
    expect(isEngineChange(event(actor), identity)).toBe(true);
  });

  it("does not mistake other principals for the engine", () => {
    const others: Actor[] = [
      { type: "IAMUser", arn: "arn:aws:iam::123456789012:user/alice", userAgent: "console.amazonaws.com" },
      { type: "AssumedRole", arn: "arn:aws:sts::123456789012:assumed-role/hipaa-remediate-engine-dev/s", issuerArn: "arn:aws:iam::123456789012:role/hipaa-remediate-engine-dev" },
      { type: "AssumedRole", arn: "arn:aws:sts::999999999999:assumed-role/hipaa-remediate-engine/s" },
      { type: "IAMUser", arn: "arn:aws-us-gov:iam::123456789012:user/remediation-bot" },
      { type: "AWSService", invokedBy: "cloudformation.amazonaws.com" },
      { type: "Unknown" },
    ];
    for (const actor of others) expect(isEngineChange(event(actor), identity), JSON.stringify(actor)).toBe(false);
  });

  it("an identity with no principals and no user agent recognises nothing", () => {
    const empty = { principals: [], userAgent: "", tagKey: "hipaa-remediate:managed" };
    expect(isEngineChange(event({ type: "IAMUser", arn: "arn:aws:iam::123456789012:user/remediation-bot", userAgent: "x" }), empty)).toBe(false);
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
