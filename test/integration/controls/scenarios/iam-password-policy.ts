import {
  DeleteAccountPasswordPolicyCommand,
  GetAccountPasswordPolicyCommand,
  UpdateAccountPasswordPolicyCommand,
  type PasswordPolicy,
} from "@aws-sdk/client-iam";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, type Moto } from "../../../support/moto";

export function passwordPolicyRef(account = MOTO_ACCOUNT): ResourceRef {
  return {
    type: "AWS::IAM::AccountPasswordPolicy",
    id: account,
    arn: `arn:aws:iam::${account}:account-password-policy`,
    account,
    region: "us-east-1",
  };
}

/** The account's password policy as IAM reports it, or null when there is none. */
export async function livePasswordPolicy(moto: Moto): Promise<PasswordPolicy | null> {
  try {
    return (await (await moto.clients.iam()).send(new GetAccountPasswordPolicyCommand({}))).PasswordPolicy ?? null;
  } catch (error) {
    if (error instanceof Error && error.name === "NoSuchEntityException") return null;
    throw error;
  }
}

/** The weak policy the scenario puts in place: 8 characters, no classes, reuse unlimited. */
const WEAK_REQUEST = { minimumPasswordLength: 8, allowUsersToChangePassword: true };

/** Someone weakened the account password policy to 8 characters with UpdateAccountPasswordPolicy. */
export const scenario: ControlScenario = {
  control: "iam-password-policy",

  async arrangeViolation(moto) {
    await (
      await moto.clients.iam()
    ).send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 8, AllowUsersToChangePassword: true }));
    const record = cloudTrailRecord({
      eventSource: "iam.amazonaws.com",
      eventName: "UpdateAccountPasswordPolicy",
      requestParameters: WEAK_REQUEST,
    });
    return { record, resource: passwordPolicyRef() };
  },

  async assertFixed(moto) {
    expect(await livePasswordPolicy(moto)).toMatchObject({
      MinimumPasswordLength: 14,
      PasswordReusePrevention: 24,
      RequireUppercaseCharacters: true,
      RequireLowercaseCharacters: true,
      RequireNumbers: true,
      RequireSymbols: true,
    });
  },

  async assertUnchanged(moto) {
    const policy = await livePasswordPolicy(moto);
    expect(policy).toMatchObject({ MinimumPasswordLength: 8, RequireSymbols: false, AllowUsersToChangePassword: true });
    expect(policy?.PasswordReusePrevention ?? 0).toBe(0);
  },

  async makeCompliant(moto) {
    await (
      await moto.clients.iam()
    ).send(
      new UpdateAccountPasswordPolicyCommand({
        MinimumPasswordLength: 16,
        RequireUppercaseCharacters: true,
        RequireLowercaseCharacters: true,
        RequireNumbers: true,
        RequireSymbols: true,
        AllowUsersToChangePassword: true,
        PasswordReusePrevention: 24,
      }),
    );
  },
};

/** Removes the account's password policy (tolerates none). */
export async function deletePasswordPolicy(moto: Moto): Promise<void> {
  try {
    await (await moto.clients.iam()).send(new DeleteAccountPasswordPolicyCommand({}));
  } catch (error) {
    if (!(error instanceof Error && error.name === "NoSuchEntityException")) throw error;
  }
}
