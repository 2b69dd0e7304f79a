import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "../../../support/moto";

export function keyRefOf(keyId: string, region = MOTO_REGION, account = MOTO_ACCOUNT): ResourceRef {
  return { type: "AWS::KMS::Key", id: keyId, arn: `arn:aws:kms:${region}:${account}:key/${keyId}`, account, region };
}

/** A customer-managed symmetric key with rotation on, as a compliant account has it. */
export async function makeKey(moto: Moto, region = MOTO_REGION): Promise<ResourceRef> {
  const kms = await moto.clients.kms(region);
  const { KeyMetadata: metadata } = await kms.send(new CreateKeyCommand({ Description: "ePHI data key" }));
  if (!metadata?.KeyId) throw new Error("CreateKey returned no KeyId");
  await kms.send(new EnableKeyRotationCommand({ KeyId: metadata.KeyId }));
  return keyRefOf(metadata.KeyId, region);
}

export async function keyState(moto: Moto, key: ResourceRef): Promise<string | undefined> {
  const kms = await moto.clients.kms(key.region);
  return (await kms.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata?.KeyState;
}

/** Someone scheduled a customer-managed key for deletion with the shortest window AWS allows. */
export const scenario: ControlScenario = {
  control: "kms-key-protection",

  async arrangeViolation(moto) {
    const resource = await makeKey(moto);
    const kms = await moto.clients.kms(resource.region);
    const { DeletionDate: deletionDate } = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: resource.id, PendingWindowInDays: 7 }));
    const record = cloudTrailRecord({
      eventSource: "kms.amazonaws.com",
      eventName: "ScheduleKeyDeletion",
      requestParameters: { keyId: resource.id, pendingWindowInDays: 7 },
      responseElements: { keyId: resource.arn, deletionDate: deletionDate?.toISOString() ?? null },
    });
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect(await keyState(moto, resource)).toBe("Enabled");
  },

  async assertUnchanged(moto, resource) {
    expect(await keyState(moto, resource)).toBe("PendingDeletion");
  },

  async makeCompliant(moto, resource) {
    const kms = await moto.clients.kms(resource.region);
    await kms.send(new CancelKeyDeletionCommand({ KeyId: resource.id }));
    await kms.send(new EnableKeyCommand({ KeyId: resource.id }));
  },
};
