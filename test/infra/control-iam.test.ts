import { ControlPermissionError, controlActions, controlPolicyStatements } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";

function control(id: string, permissions: { detect?: string[]; apply?: string[]; rollback?: string[] }) {
  return { id, permissions: { detect: permissions.detect ?? [], apply: permissions.apply ?? [], rollback: permissions.rollback ?? [] } };
}

describe("controlPolicyStatements", () => {
  it("groups the declared actions of every phase into one statement per service", () => {
    const statements = controlPolicyStatements([
      control("a", { detect: ["s3:GetEncryptionConfiguration"], apply: ["s3:PutEncryptionConfiguration"], rollback: ["s3:DeleteBucketEncryption"] }),
      control("b", { detect: ["ec2:DescribeInstances", "elasticloadbalancing:DescribeLoadBalancers"], apply: ["ec2:ModifyInstanceAttribute"] }),
    ]);

    expect(statements).toEqual([
      { sid: "ControlsEc2", effect: "Allow", actions: ["ec2:DescribeInstances", "ec2:ModifyInstanceAttribute"], resources: ["*"] },
      { sid: "ControlsElasticloadbalancing", effect: "Allow", actions: ["elasticloadbalancing:DescribeLoadBalancers"], resources: ["*"] },
      {
        sid: "ControlsS3",
        effect: "Allow",
        actions: ["s3:DeleteBucketEncryption", "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"],
        resources: ["*"],
      },
    ]);
  });

  it("turns hyphenated service prefixes into valid statement ids", () => {
    const [statement] = controlPolicyStatements([control("a", { detect: ["resource-groups:GetGroup"] })]);
    expect(statement?.sid).toBe("ControlsResourceGroups");
  });

  it("lists an action two controls need once, whatever its letter case", () => {
    const actions = controlActions([control("a", { detect: ["iam:ListAccessKeys"] }), control("b", { detect: ["iam:listaccesskeys"] })]);
    expect(actions).toEqual(["iam:ListAccessKeys"]);
  });

  it("returns only the requested phases", () => {
    const registry = [control("a", { detect: ["s3:GetBucketTagging"], apply: ["s3:PutBucketTagging"] })];
    expect(controlActions(registry, ["detect"])).toEqual(["s3:GetBucketTagging"]);
  });

  it.each(["s3:*", "s3:Put*", "*", "s3:Get?ucket", "PutBucketPolicy", "s3:PutBucketPolicy "])(
    "rejects %j, naming the control, phase and index",
    (action) => {
      const registry = [control("greedy", { detect: ["s3:GetBucketPolicy"], apply: [action] })];
      expect(() => controlPolicyStatements(registry)).toThrow(ControlPermissionError);
      expect(() => controlPolicyStatements(registry)).toThrow(`controls[greedy].permissions.apply[0]: "${action}"`);
    },
  );

  it("accepts every registered control's permissions and keeps every one of them", () => {
    const granted = new Set(controlPolicyStatements(controls).flatMap((s) => s.actions.map((a) => a.toLowerCase())));
    for (const c of controls) {
      for (const action of [...c.permissions.detect, ...c.permissions.apply, ...c.permissions.rollback]) {
        expect(granted, `${c.id}: ${action}`).toContain(action.toLowerCase());
      }
    }
  });
});
