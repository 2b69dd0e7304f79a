import type { LiveContext, ResourceRef } from "@hipaa-remediate/core";
import { resolveAccount } from "./account";
import { defineResourceKind, noTags, type ResourceKind } from "./resource-kind";

/**
 * Settings that exist once per account and region (EBS encryption by default, a GuardDuty detector's presence)
 * or once per account (the IAM password policy). They have no ARN of their own, so each gets a stable
 * pseudo-ARN in the service's namespace, which exemptions and the log can name.
 */
export interface AccountSetting {
  /** A CloudFormation-style type name, e.g. `AWS::EC2::EBSEncryptionByDefault`. */
  type: string;
  noun: string;
  /** The setting's pseudo-ARN in `region` of `account`. */
  arn(account: string, region: string): string;
  /** True for account-wide settings (IAM): one resource in us-east-1 instead of one per region. */
  global?: boolean;
}

export function accountSettingRef(setting: AccountSetting, account: string, region: string): ResourceRef {
  const home = setting.global ? "us-east-1" : region;
  return { type: setting.type, id: setting.global ? account : home, arn: setting.arn(account, home), account, region: home };
}

/** The resource kind of an account setting: one resource per sweep region (or one in all, for global settings). */
export function accountSettingKind(setting: AccountSetting): ResourceKind {
  return defineResourceKind({
    type: setting.type,
    noun: setting.noun,
    async *list(ctx: LiveContext) {
      const account = await resolveAccount(ctx);
      const regions = setting.global ? ["us-east-1"] : ctx.regions;
      for (const region of regions) yield accountSettingRef(setting, account, region);
    },
    tags: noTags,
  });
}
