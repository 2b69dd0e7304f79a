import {
  DisableEbsEncryptionByDefaultCommand,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsEncryptionByDefaultCommand,
} from "@aws-sdk/client-ec2";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "../../../support/moto";

export async function ebsDefaultEncryption(moto: Moto, region = MOTO_REGION): Promise<boolean> {
  const response = await (await moto.clients.ec2(region)).send(new GetEbsEncryptionByDefaultCommand({}));
  return response.EbsEncryptionByDefault === true;
}

export function ebsSettingRef(region = MOTO_REGION, account = MOTO_ACCOUNT): ResourceRef {
  return {
    type: "AWS::EC2::EBSEncryptionByDefault",
    id: region,
    arn: `arn:aws:ec2:${region}:${account}:ebs-encryption-by-default`,
    account,
    region,
  };
}

/** Someone turned EBS encryption by default off in the region: DisableEbsEncryptionByDefault, with null parameters. */
export const scenario: ControlScenario = {
  control: "ebs-encryption-by-default",

  async arrangeViolation(moto) {
    const ec2 = await moto.clients.ec2(MOTO_REGION);
    await ec2.send(new EnableEbsEncryptionByDefaultCommand({}));
    await ec2.send(new DisableEbsEncryptionByDefaultCommand({}));
    const record = cloudTrailRecord({
      eventSource: "ec2.amazonaws.com",
      eventName: "DisableEbsEncryptionByDefault",
      requestParameters: null,
      responseElements: { DisableEbsEncryptionByDefaultResponse: { ebsEncryptionByDefault: false } },
    });
    return { record, resource: ebsSettingRef() };
  },

  async assertFixed(moto, resource) {
    expect(await ebsDefaultEncryption(moto, resource.region)).toBe(true);
  },

  async assertUnchanged(moto, resource) {
    expect(await ebsDefaultEncryption(moto, resource.region)).toBe(false);
  },

  async makeCompliant(moto, resource) {
    await (await moto.clients.ec2(resource.region)).send(new EnableEbsEncryptionByDefaultCommand({}));
  },
};
