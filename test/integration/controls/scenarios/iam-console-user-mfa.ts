import { randomUUID } from "node:crypto";
import {
  CreateLoginProfileCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  GetUserPolicyCommand,
} from "@aws-sdk/client-iam";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, type Moto } from "../../../support/moto";

export const REQUIRE_MFA_POLICY = "hipaa-remediate-require-mfa";

export function consoleUserRef(userName: string, account = MOTO_ACCOUNT): ResourceRef {
  return { type: "AWS::IAM::User", id: userName, arn: `arn:aws:iam::${account}:user/${userName}`, account, region: "us-east-1" };
}

/** A new IAM user with a console password and no MFA device. Passwords here are test-only throwaways. */
export async function createConsoleUser(moto: Moto, prefix = "console"): Promise<string> {
  const userName = `${prefix}-${randomUUID().slice(0, 8)}`;
  const iam = await moto.clients.iam();
  await iam.send(new CreateUserCommand({ UserName: userName }));
  await iam.send(new CreateLoginProfileCommand({ UserName: userName, Password: `Tmp-${randomUUID()}`, PasswordResetRequired: true }));
  return userName;
}

/** Enrols a virtual MFA device for the user (moto accepts any codes). */
export async function enrolMfa(moto: Moto, userName: string, deviceName = `${userName}-phone`): Promise<string> {
  const iam = await moto.clients.iam();
  const created = await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: deviceName }));
  const serial = created.VirtualMFADevice?.SerialNumber;
  if (!serial) throw new Error("moto returned no MFA serial number");
  await iam.send(
    new EnableMFADeviceCommand({ UserName: userName, SerialNumber: serial, AuthenticationCode1: "123456", AuthenticationCode2: "654321" }),
  );
  return serial;
}

/** The engine's inline policy on the user, decoded, or null when absent. */
export async function requireMfaPolicyOf(moto: Moto, userName: string): Promise<Record<string, unknown> | null> {
  try {
    const response = await (
      await moto.clients.iam()
    ).send(new GetUserPolicyCommand({ UserName: userName, PolicyName: REQUIRE_MFA_POLICY }));
    return JSON.parse(decodeURIComponent(response.PolicyDocument ?? "")) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof Error && error.name === "NoSuchEntityException") return null;
    throw error;
  }
}

export function createLoginProfileRecord(userName: string): Record<string, unknown> {
  return cloudTrailRecord({
    eventSource: "iam.amazonaws.com",
    eventName: "CreateLoginProfile",
    requestParameters: { userName, passwordResetRequired: true },
    responseElements: { loginProfile: { userName, createDate: "Mar 1, 2025 12:00:00 PM", passwordResetRequired: true } },
  });
}

/** An administrator gave a new user a console password (CreateLoginProfile); the user has no MFA device. */
export const scenario: ControlScenario = {
  control: "iam-console-user-mfa",

  async arrangeViolation(moto) {
    const userName = await createConsoleUser(moto, "mfa-scenario");
    return { record: createLoginProfileRecord(userName), resource: consoleUserRef(userName) };
  },

  async assertFixed(moto, resource) {
    const policy = await requireMfaPolicyOf(moto, resource.id);
    expect(policy).not.toBeNull();
    expect(JSON.stringify(policy)).toContain('"aws:MultiFactorAuthPresent":"false"');
  },

  async assertUnchanged(moto, resource) {
    expect(await requireMfaPolicyOf(moto, resource.id)).toBeNull();
  },

  async makeCompliant(moto, resource) {
    await enrolMfa(moto, resource.id);
  },
};
