import {
  APPLYING_MODES,
  ControlPermissionError,
  controlActions,
  controlGrantStatements,
  controlPolicyStatements,
  parsePolicy,
  reachableModes,
  type AnyControl,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";

function control(id: string, permissions: { detect?: string[]; apply?: string[]; rollback?: string[] }) {
  return { id, permissions: { detect: permissions.detect ?? [], apply: permissions.apply ?? [], rollback: permissions.rollback ?? [] } };
}

describe("controlPolicyStatements", () => {
  it("groups the declared actions of every phase into one statement per service", () => {
    const statements = controlPolicyStatements([
      control("a", {
        detect: ["s3:GetEncryptionConfiguration"],
        apply: ["s3:PutEncryptionConfiguration"],
        rollback: ["s3:DeleteBucketEncryption"],
      }),
      control("b", {
        detect: ["ec2:DescribeInstances", "elasticloadbalancing:DescribeLoadBalancers"],
        apply: ["ec2:ModifyInstanceAttribute"],
      }),
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

describe("reachableModes and controlGrantStatements", () => {
  const byId = (id: string): AnyControl => {
    const found = controls.find((c) => c.id === id);
    if (found === undefined) throw new Error(`no control ${id}`);
    return found;
  };
  const versioning = byId("s3-bucket-versioning");
  const tlsOnly = byId("s3-bucket-tls-only");
  const staleKeys = byId("iam-access-key-stale");
  const policyWith = (document: string) => parsePolicy(document, "test.yaml", controls);
  const scope = { account: "111122223333", partition: "aws", tagKeys: ["hipaa-remediate:*"] };

  it("starts from the control's mode and adds every override that can match it", () => {
    const policy = policyWith(
      "defaultMode: dry-run\noverrides:\n  - match: { controls: [s3-bucket-versioning] }\n    mode: auto\n  - match: { tags: { Env: prod } }\n    mode: approve\n",
    );
    expect([...reachableModes(versioning, policy)].sort()).toEqual(["approve", "auto", "dry-run"]);
    expect([...reachableModes(tlsOnly, policy)].sort()).toEqual(["approve", "dry-run"]);
  });

  it("applies the kill switch's fallback and turns a disabled control off entirely", () => {
    const killed = policyWith(
      "defaultMode: auto\nkillSwitch: { engaged: true, fallback: dry-run }\ncontrols:\n  iam-access-key-stale: { enabled: false }\n",
    );
    expect([...reachableModes(versioning, killed)]).toEqual(["dry-run"]);
    expect(reachableModes(staleKeys, killed).size).toBe(0);
    const approving = policyWith("defaultMode: auto\nkillSwitch: { engaged: true }\n");
    expect([...reachableModes(versioning, approving)]).toEqual(["approve"]);
  });

  it("grants apply actions only to controls that reach the role's modes, never rollback-only ones, and narrows the dangerous ones", () => {
    const registry = [versioning, tlsOnly, staleKeys];
    const policy = policyWith(
      "defaultMode: dry-run\ncontrols:\n  s3-bucket-tls-only: { mode: auto }\n  iam-access-key-stale: { mode: approve }\n",
    );
    const engine = controlGrantStatements({ controls: registry, policy, applyingModes: APPLYING_MODES.automatic, scope });
    const worker = controlGrantStatements({ controls: registry, policy, applyingModes: APPLYING_MODES.approved, scope });
    const allowed = (statements: typeof engine) => statements.filter((s) => s.effect === "Allow").flatMap((s) => s.actions);
    for (const statements of [engine, worker]) {
      expect(allowed(statements)).toContain("s3:PutBucketPolicy");
      expect(allowed(statements)).not.toContain("s3:PutBucketVersioning");
      expect(allowed(statements)).not.toContain("s3:DeleteBucketPolicy");
    }
    expect(allowed(engine)).not.toContain("iam:UpdateAccessKey");
    expect(worker).toContainEqual({
      sid: "AccessKeysOfOwnAccountUsers",
      effect: "Allow",
      actions: ["iam:UpdateAccessKey"],
      resources: ["arn:aws:iam::111122223333:user/*"],
    });
    expect(engine).toContainEqual({
      sid: "BucketAccessInOwnAccount",
      effect: "Allow",
      actions: ["s3:PutBucketPolicy"],
      resources: ["*"],
      conditions: { StringEquals: { "s3:ResourceAccount": "111122223333" } },
    });
  });
});
