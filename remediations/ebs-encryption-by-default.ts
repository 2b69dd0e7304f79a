import {
  DisableEbsEncryptionByDefaultCommand,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsEncryptionByDefaultCommand,
} from "@aws-sdk/client-ec2";
import { CATEGORIES, type ChangeEvent, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { accountSettingKind, accountSettingRef, type AccountSetting } from "./lib/account-setting-kind";
import { defineSettingControl } from "./lib/setting-control";

const EBS_DEFAULT_ENCRYPTION: AccountSetting = {
  type: "AWS::EC2::EBSEncryptionByDefault",
  noun: "EBS encryption by default in",
  arn: (account, region) => `arn:aws:ec2:${region}:${account}:ebs-encryption-by-default`,
};

/** The account and region the change was made in: the setting is regional. */
function settingFromEvent(event: ChangeEvent): ResourceRef[] {
  return [accountSettingRef(EBS_DEFAULT_ENCRYPTION, event.account, event.region)];
}

/**
 * EBS encryption by default, per region. While it is on, every new volume and snapshot copy is encrypted whatever
 * the caller asks for, so turning it off reopens the door to unencrypted ePHI on disk.
 */
export const control = defineSettingControl({
  id: "ebs-encryption-by-default",
  title: "EBS encryption by default stays on in every region",
  category: "encryption-at-rest",
  hipaa: {
    sections: [...CATEGORIES["encryption-at-rest"].hipaa],
    why: "With encryption by default on, no one can create an unencrypted EBS volume in the region, so ePHI written to disk is always encrypted at rest (164.312(a)(2)(iv)).",
  },
  severity: "high",
  options: z.strictObject({}).prefault({}),
  triggers: [{ source: "ec2.amazonaws.com", name: "DisableEbsEncryptionByDefault", resources: settingFromEvent }],
  permissions: {
    detect: ["ec2:GetEbsEncryptionByDefault"],
    apply: ["ec2:GetEbsEncryptionByDefault", "ec2:EnableEbsEncryptionByDefault"],
    rollback: ["ec2:DisableEbsEncryptionByDefault"],
  },
  kind: accountSettingKind(EBS_DEFAULT_ENCRYPTION),
  setting: z.boolean(),

  async read(ref, ctx) {
    const response = await (await ctx.aws.ec2(ref.region)).send(new GetEbsEncryptionByDefaultCommand({}));
    return response.EbsEncryptionByDefault === true;
  },
  async write(ref, enabled, ctx) {
    const ec2 = await ctx.aws.ec2(ref.region);
    await ec2.send(enabled ? new EnableEbsEncryptionByDefaultCommand({}) : new DisableEbsEncryptionByDefaultCommand({}));
  },
  shortfall: (enabled) => (enabled ? undefined : "is off"),
  required: () => true,
  describe: (enabled) => (enabled ? "on" : "off"),
  summarise: (ref) => `Turn EBS encryption by default back on in ${ref.region}.`,
  // The call itself is the evidence: whatever the request held, encryption by default is now off.
  fromEvent: () => false,
});
