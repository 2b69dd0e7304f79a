import {
  DeleteAccountPasswordPolicyCommand,
  GetAccountPasswordPolicyCommand,
  UpdateAccountPasswordPolicyCommand,
  type IAMClient,
} from "@aws-sdk/client-iam";
import { CATEGORIES, type ChangeEvent, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { accountSettingKind, accountSettingRef, type AccountSetting } from "./lib/account-setting-kind";
import { isNotFound } from "./lib/aws-errors";
import { InvalidControlDataError } from "./lib/errors";
import { booleanOf } from "./lib/json-fields";
import { defineSettingControl } from "./lib/setting-control";

const PASSWORD_POLICY: AccountSetting = {
  type: "AWS::IAM::AccountPasswordPolicy",
  noun: "the IAM password policy of account",
  arn: (account) => `arn:aws:iam::${account}:account-password-policy`,
  global: true,
};

/** The account's password policy, as plain JSON. `null` means the account has none (IAM's defaults apply). */
export type PasswordPolicy = {
  minimumLength: number;
  requireUppercase: boolean;
  requireLowercase: boolean;
  requireNumbers: boolean;
  requireSymbols: boolean;
  /** How many previous passwords a user may not reuse; null when reuse is not limited. */
  reusePrevention: number | null;
  /** Days until a password expires; null when passwords never expire. */
  maxAgeDays: number | null;
  allowUsersToChange: boolean;
  /** Whether a user with an expired password needs an administrator to reset it. */
  hardExpiry: boolean;
};

const passwordPolicySchema = z.object({
  minimumLength: z.int().min(1),
  requireUppercase: z.boolean(),
  requireLowercase: z.boolean(),
  requireNumbers: z.boolean(),
  requireSymbols: z.boolean(),
  reusePrevention: z.int().min(1).max(24).nullable(),
  maxAgeDays: z.int().min(1).max(1095).nullable(),
  allowUsersToChange: z.boolean(),
  hardExpiry: z.boolean(),
});

const settingSchema: z.ZodType<PasswordPolicy | null> = passwordPolicySchema.nullable();

/**
 * The baseline. Defaults follow NIST SP 800-63B and CIS AWS Foundations: at least 14 characters, the last 24
 * passwords not reused, every character class. Forced expiry is off by default: HIPAA does not require it and
 * 800-63B advises against periodic rotation (it pushes users to predictable passwords); set `maxPasswordAgeDays`
 * when an auditor asks for it.
 */
const optionsSchema = z
  .strictObject({
    minimumPasswordLength: z
      .int("minimumPasswordLength must be a whole number of characters")
      .min(6, "minimumPasswordLength must be at least 6 (IAM's lower bound)")
      .max(128, "minimumPasswordLength must be at most 128 (IAM's upper bound)")
      .default(14),
    passwordReusePrevention: z
      .int("passwordReusePrevention must be a whole number of passwords")
      .min(1, "passwordReusePrevention must be at least 1")
      .max(24, "passwordReusePrevention must be at most 24 (IAM's upper bound)")
      .default(24),
    requireUppercaseCharacters: z.boolean().default(true),
    requireLowercaseCharacters: z.boolean().default(true),
    requireNumbers: z.boolean().default(true),
    requireSymbols: z.boolean().default(true),
    allowUsersToChangePassword: z.boolean().default(true),
    /** Null (the default): passwords do not expire. */
    maxPasswordAgeDays: z
      .int("maxPasswordAgeDays must be a whole number of days")
      .min(1, "maxPasswordAgeDays must be at least 1")
      .max(1095, "maxPasswordAgeDays must be at most 1095 (IAM's upper bound)")
      .nullable()
      .default(null),
  })
  .prefault({});

export type PasswordPolicyOptions = z.output<typeof optionsSchema>;

/** IAM's values for fields UpdateAccountPasswordPolicy leaves out: the call replaces the whole policy. */
const IAM_OMITTED_DEFAULTS = { minimumLength: 6, flag: false } as const;

const CHARACTER_CLASSES = [
  ["requireUppercase", "requireUppercaseCharacters", "uppercase letters"],
  ["requireLowercase", "requireLowercaseCharacters", "lowercase letters"],
  ["requireNumbers", "requireNumbers", "numbers"],
  ["requireSymbols", "requireSymbols", "symbols"],
] as const;

/** Why `current` falls short of the baseline, as one clause per gap; empty when it meets it. */
export function passwordPolicyGaps(current: PasswordPolicy | null, options: PasswordPolicyOptions): string[] {
  if (current === null) return ["is missing (IAM's defaults allow 6-character passwords of any kind)"];
  const gaps: string[] = [];
  if (current.minimumLength < options.minimumPasswordLength) {
    gaps.push(`allows ${current.minimumLength}-character passwords (baseline ${options.minimumPasswordLength})`);
  }
  if ((current.reusePrevention ?? 0) < options.passwordReusePrevention) {
    gaps.push(
      current.reusePrevention === null
        ? `does not prevent password reuse (baseline: the last ${options.passwordReusePrevention})`
        : `prevents reuse of only the last ${current.reusePrevention} passwords (baseline ${options.passwordReusePrevention})`,
    );
  }
  const missing = CHARACTER_CLASSES.filter(([field, option]) => options[option] && !current[field]).map(([, , label]) => label);
  if (missing.length > 0) gaps.push(`does not require ${missing.join(", ")}`);
  if (options.allowUsersToChangePassword && !current.allowUsersToChange) gaps.push("does not let users change their own password");
  if (options.maxPasswordAgeDays !== null && (current.maxAgeDays === null || current.maxAgeDays > options.maxPasswordAgeDays)) {
    gaps.push(
      current.maxAgeDays === null
        ? `never expires passwords (baseline ${options.maxPasswordAgeDays} days)`
        : `expires passwords after ${current.maxAgeDays} days (baseline ${options.maxPasswordAgeDays})`,
    );
  }
  return gaps;
}

/** The baseline merged with the current policy: every value the account already has that is stricter is kept. */
export function requiredPasswordPolicy(current: PasswordPolicy | null, options: PasswordPolicyOptions): PasswordPolicy {
  const stricterAge = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
  return {
    minimumLength: Math.max(current?.minimumLength ?? 0, options.minimumPasswordLength),
    requireUppercase: (current?.requireUppercase ?? false) || options.requireUppercaseCharacters,
    requireLowercase: (current?.requireLowercase ?? false) || options.requireLowercaseCharacters,
    requireNumbers: (current?.requireNumbers ?? false) || options.requireNumbers,
    requireSymbols: (current?.requireSymbols ?? false) || options.requireSymbols,
    reusePrevention: Math.max(current?.reusePrevention ?? 0, options.passwordReusePrevention),
    // An expiry the account already chose is kept (it is the organisation's decision); the baseline's is added.
    maxAgeDays: stricterAge(current?.maxAgeDays ?? null, options.maxPasswordAgeDays),
    allowUsersToChange: (current?.allowUsersToChange ?? false) || options.allowUsersToChangePassword,
    hardExpiry: current?.hardExpiry ?? false,
  };
}

export function describePasswordPolicy(policy: PasswordPolicy | null): string {
  if (policy === null) return "no password policy";
  const classes = CHARACTER_CLASSES.filter(([field]) => policy[field]).map(([, , label]) => label);
  return [
    `at least ${policy.minimumLength} characters`,
    classes.length > 0 ? `requiring ${classes.join(", ")}` : "no character classes required",
    policy.reusePrevention === null ? "reuse allowed" : `no reuse of the last ${policy.reusePrevention}`,
    policy.maxAgeDays === null ? "no expiry" : `expiry after ${policy.maxAgeDays} days${policy.hardExpiry ? " (hard)" : ""}`,
    policy.allowUsersToChange ? "users may change their own" : "users may not change their own",
  ].join(", ");
}

/** A positive whole number from a request field (CloudTrail may record numbers as strings); 0 or absent is null. */
function positiveCount(value: unknown): number | null {
  const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === "number" && Number.isInteger(number) && number > 0 ? number : null;
}

/**
 * The policy an UpdateAccountPasswordPolicy request put in place: IAM replaces the whole policy, so a field the
 * request leaves out takes IAM's default. Undefined when CloudTrail did not record the request.
 */
export function passwordPolicyFromRequest(event: ChangeEvent): PasswordPolicy | null | undefined {
  if (event.name === "DeleteAccountPasswordPolicy") return null;
  const request = event.request;
  if (request === null) return undefined;
  const flag = (field: string) => booleanOf(request[field]) ?? IAM_OMITTED_DEFAULTS.flag;
  return {
    minimumLength: positiveCount(request.minimumPasswordLength) ?? IAM_OMITTED_DEFAULTS.minimumLength,
    requireUppercase: flag("requireUppercaseCharacters"),
    requireLowercase: flag("requireLowercaseCharacters"),
    requireNumbers: flag("requireNumbers"),
    requireSymbols: flag("requireSymbols"),
    reusePrevention: positiveCount(request.passwordReusePrevention),
    maxAgeDays: positiveCount(request.maxPasswordAge),
    allowUsersToChange: flag("allowUsersToChangePassword"),
    hardExpiry: flag("hardExpiry"),
  };
}

async function readPolicy(iam: IAMClient): Promise<PasswordPolicy | null> {
  try {
    const { PasswordPolicy: policy } = await iam.send(new GetAccountPasswordPolicyCommand({}));
    if (!policy) return null;
    return {
      minimumLength: policy.MinimumPasswordLength ?? IAM_OMITTED_DEFAULTS.minimumLength,
      requireUppercase: policy.RequireUppercaseCharacters === true,
      requireLowercase: policy.RequireLowercaseCharacters === true,
      requireNumbers: policy.RequireNumbers === true,
      requireSymbols: policy.RequireSymbols === true,
      reusePrevention: positiveCount(policy.PasswordReusePrevention),
      maxAgeDays: positiveCount(policy.MaxPasswordAge),
      allowUsersToChange: policy.AllowUsersToChangePassword === true,
      hardExpiry: policy.HardExpiry === true,
    };
  } catch (error) {
    // NoSuchEntity: the account has no password policy, which is a value of the setting, not a missing resource.
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** Always the whole policy: IAM resets every field a call leaves out. Null fields are left out on purpose (IAM's "none"). */
async function putPolicy(iam: IAMClient, policy: PasswordPolicy): Promise<void> {
  await iam.send(
    new UpdateAccountPasswordPolicyCommand({
      MinimumPasswordLength: policy.minimumLength,
      RequireUppercaseCharacters: policy.requireUppercase,
      RequireLowercaseCharacters: policy.requireLowercase,
      RequireNumbers: policy.requireNumbers,
      RequireSymbols: policy.requireSymbols,
      AllowUsersToChangePassword: policy.allowUsersToChange,
      HardExpiry: policy.hardExpiry,
      ...(policy.reusePrevention !== null ? { PasswordReusePrevention: policy.reusePrevention } : {}),
      ...(policy.maxAgeDays !== null ? { MaxPasswordAge: policy.maxAgeDays } : {}),
    }),
  );
}

function policyOfEventAccount(event: ChangeEvent): ResourceRef[] {
  return [accountSettingRef(PASSWORD_POLICY, event.account, event.region)];
}

/**
 * The account's IAM password policy meets the baseline. A weaker policy (or none) lets IAM users protect console
 * access to ePHI with short, guessable or recycled passwords.
 */
export const control = defineSettingControl<PasswordPolicyOptions, PasswordPolicy | null>({
  id: "iam-password-policy",
  title: "The IAM password policy meets the baseline",
  category: "credential-rotation",
  hipaa: {
    sections: [...CATEGORIES["credential-rotation"].hipaa],
    why: "Password management (164.308(a)(5)(ii)(D)) requires procedures for creating and safeguarding passwords; the account password policy is where AWS enforces them for every IAM user.",
  },
  severity: "high",
  options: optionsSchema,
  triggers: [
    { source: "iam.amazonaws.com", name: "UpdateAccountPasswordPolicy", resources: policyOfEventAccount },
    { source: "iam.amazonaws.com", name: "DeleteAccountPasswordPolicy", resources: policyOfEventAccount },
  ],
  permissions: {
    detect: ["iam:GetAccountPasswordPolicy"],
    apply: ["iam:GetAccountPasswordPolicy", "iam:UpdateAccountPasswordPolicy"],
    rollback: ["iam:UpdateAccountPasswordPolicy", "iam:DeleteAccountPasswordPolicy"],
  },
  kind: accountSettingKind(PASSWORD_POLICY),
  setting: settingSchema,

  read: async (_ref, ctx) => readPolicy(await ctx.aws.iam()),
  async write(_ref, policy, ctx) {
    // `required` always yields a policy: the fix puts one in place and never deletes it.
    if (policy === null) throw new InvalidControlDataError("field required: the fix must put a password policy, not delete it");
    await putPolicy(await ctx.aws.iam(), policy);
  },
  restore: async (_ref, before, ctx) => {
    const iam = await ctx.aws.iam();
    return before === null ? deletePolicy(iam) : putPolicy(iam, before);
  },
  shortfall(current, options) {
    const gaps = passwordPolicyGaps(current, options);
    return gaps.length > 0 ? gaps.join("; ") : undefined;
  },
  required: (current, options) => requiredPasswordPolicy(current, options),
  describe: describePasswordPolicy,
  summarise: (ref, required) => `Set the IAM password policy of account ${ref.account} to ${describePasswordPolicy(required)}.`,
  notes: () => [
    "No one loses access: existing passwords keep working, and the stricter rules apply when a user next sets a password.",
    "Rollback puts the previous policy back exactly, or deletes the policy when the account had none.",
  ],
  fromEvent: (event) => passwordPolicyFromRequest(event),
});

/** Deleting a policy that is already gone is the outcome rollback wants. */
async function deletePolicy(iam: IAMClient): Promise<void> {
  try {
    await iam.send(new DeleteAccountPasswordPolicyCommand({}));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
