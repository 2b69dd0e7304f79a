import { z } from "zod";
import { defineControl, type AnyControl, type Finding, type Mode } from "@hipaa-remediate/core";

/**
 * A small but real control, satisfying the Control contract, for policy tests: the policy only needs a
 * control's id, default mode and option schema, and must not depend on the controls being written elsewhere.
 */
export function fakeControl<O>(id: string, options: z.ZodType<O>, defaultMode?: Mode): AnyControl {
  return defineControl<O, { bucket: string }>({
    id,
    title: `Fake control ${id}`,
    category: "encryption-at-rest",
    hipaa: { sections: ["164.312(a)(2)(iv)"], why: "Test double for policy validation." },
    severity: "high",
    ...(defaultMode ? { defaultMode } : {}),
    options,
    triggers: [],
    permissions: { detect: [], apply: [], rollback: [] },
    async detect() {
      return [];
    },
    plan(finding) {
      return {
        control: id,
        resource: finding.resource,
        summary: `Fix ${finding.resource.id}`,
        steps: [`Fix ${finding.resource.id}`],
        reversible: true,
        params: { bucket: finding.resource.id },
      };
    },
    async apply() {
      return { before: {} };
    },
    async verify() {
      return { ok: true, state: {} };
    },
    async rollback() {},
    async *sweep() {},
  });
}

export const ENCRYPTION_ID = "s3-bucket-default-encryption";

export const encryptionOptions = z.strictObject({
  kmsKeyId: z
    .string()
    .regex(/^arn:aws:kms:/, "expected a KMS key ARN")
    .optional(),
  bucketKeyEnabled: z.boolean().default(true),
});

export const encryptionControl = fakeControl(ENCRYPTION_ID, encryptionOptions);
export const rotationControl = fakeControl(
  "iam-access-key-rotation",
  z.strictObject({ maxAgeDays: z.number().int().positive().default(90) }),
  "approve",
);
export const publicSubnetControl = fakeControl("ec2-instance-in-public-subnet", z.strictObject({}));

export const registry: readonly AnyControl[] = [encryptionControl, rotationControl, publicSubnetControl];

export function finding(
  overrides: { arn?: string; account?: string; region?: string; tags?: Record<string, string>; control?: string } = {},
): Finding {
  const arn = overrides.arn ?? "arn:aws:s3:::phi-claims";
  return {
    control: overrides.control ?? ENCRYPTION_ID,
    resource: {
      type: "AWS::S3::Bucket",
      id: arn.split(":").at(-1) ?? arn,
      arn,
      account: overrides.account ?? "123456789012",
      region: overrides.region ?? "us-east-1",
    },
    summary: "Bucket has no default encryption",
    evidence: {},
    confirmed: true,
    tags: overrides.tags ?? {},
  };
}
