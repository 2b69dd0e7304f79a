import type { JsonObject } from "@hipaa-remediate/core";

/** The inline policy name the engine uses on users held to MFA; its presence marks a user as already handled. */
export const REQUIRE_MFA_POLICY_NAME = "hipaa-remediate-require-mfa";

/**
 * What a user may still do without MFA: see and enrol their own MFA device, change their own password (a new
 * console user is often made to), and exchange MFA for a session token. From AWS's documented example
 * "Allows IAM users to self-manage an MFA device" (IAM User Guide, reference_policies_examples_iam_mfa-selfmanage).
 */
export const ACTIONS_ALLOWED_WITHOUT_MFA = [
  "iam:ChangePassword",
  "iam:CreateVirtualMFADevice",
  "iam:EnableMFADevice",
  "iam:GetMFADevice",
  "iam:GetUser",
  "iam:ListMFADevices",
  "iam:ListVirtualMFADevices",
  "iam:ResyncMFADevice",
  "sts:GetSessionToken",
] as const;

/**
 * The deny-unless-MFA document for one user. The Allow statements let the user enrol a device even when no other
 * policy grants it (scoped to their own user ARN, and to virtual MFA devices of the account, whose name the user
 * picks); the Deny removes every other action while the request was not signed with MFA. `BoolIfExists` also
 * covers long-term access keys, whose requests carry no `aws:MultiFactorAuthPresent` at all.
 */
export function requireMfaPolicy(userArn: string, account: string): JsonObject {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "AllowViewAccountMfaDevices", Effect: "Allow", Action: ["iam:ListVirtualMFADevices"], Resource: "*" },
      {
        Sid: "AllowCreateOwnVirtualMfaDevice",
        Effect: "Allow",
        Action: ["iam:CreateVirtualMFADevice"],
        Resource: `arn:aws:iam::${account}:mfa/*`,
      },
      {
        Sid: "AllowManageOwnMfaAndPassword",
        Effect: "Allow",
        Action: [
          "iam:ChangePassword",
          "iam:EnableMFADevice",
          "iam:GetMFADevice",
          "iam:GetUser",
          "iam:ListMFADevices",
          "iam:ResyncMFADevice",
        ],
        Resource: userArn,
      },
      {
        Sid: "DenyAllExceptMfaEnrolmentWithoutMfa",
        Effect: "Deny",
        NotAction: [...ACTIONS_ALLOWED_WITHOUT_MFA],
        Resource: "*",
        Condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } },
      },
    ],
  };
}

/** IAM returns inline policy documents URL-encoded (RFC 3986); decodes and parses one, or undefined when unreadable. */
export function decodePolicyDocument(encoded: string | undefined): unknown {
  if (encoded === undefined) return undefined;
  try {
    return JSON.parse(decodeURIComponent(encoded));
  } catch {
    return undefined;
  }
}
