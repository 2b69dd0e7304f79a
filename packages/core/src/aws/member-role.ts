import type { STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { isAccessDeniedName, memberRoleDenied } from "./access-denied";
import type { AccountAccess } from "./clients";

/** How the engine reaches a member account: the member template's role, assumed with the organisation's ExternalId. */
export interface MemberRoleAccess {
  roleName: string;
  roleArn: string;
  externalId: string;
  /** Shows in the member account's CloudTrail as the session of every change the engine makes there. */
  sessionName?: string;
  /** Seconds; STS's default and the role's default maximum is an hour. */
  durationSeconds?: number;
}

export const ENGINE_SESSION_NAME = "hipaa-remediate-engine";
/** Credentials are renewed this long before they expire, so no call starts with credentials about to lapse. */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
/** A refused AssumeRole is not asked again for this long: every event of that account would otherwise ask STS. */
export const DENIED_RETRY_AFTER_MS = 60_000;

export function memberRoleArn(partition: string, account: string, roleName: string): string {
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

function accountOf(roleArn: string): string {
  return roleArn.split(":")[4] ?? "";
}

/**
 * Credentials of the member role, from STS AssumeRole through the engine's own STS client, kept until shortly
 * before they expire and shared by every client of that account. Concurrent callers share one AssumeRole call.
 */
export function assumeRoleCredentials(
  sts: () => Promise<STSClient>,
  access: MemberRoleAccess,
  now: () => Date,
): AwsCredentialIdentityProvider {
  let cached: (AwsCredentialIdentity & { expiration: Date }) | undefined;
  let refused: { error: Error; until: number } | undefined;
  let pending: Promise<AwsCredentialIdentity & { expiration: Date }> | undefined;

  async function assume(): Promise<AwsCredentialIdentity & { expiration: Date }> {
    const client = await sts();
    const { AssumeRoleCommand } = await import("@aws-sdk/client-sts");
    try {
      const answer = await client.send(
        new AssumeRoleCommand({
          RoleArn: access.roleArn,
          ExternalId: access.externalId,
          RoleSessionName: access.sessionName ?? ENGINE_SESSION_NAME,
          ...(access.durationSeconds ? { DurationSeconds: access.durationSeconds } : {}),
        }),
      );
      const credentials = answer.Credentials;
      if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.Expiration) {
        throw new Error(`STS AssumeRole of ${access.roleArn} answered without credentials`);
      }
      return {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        ...(credentials.SessionToken ? { sessionToken: credentials.SessionToken } : {}),
        expiration: credentials.Expiration,
      };
    } catch (error) {
      if (error instanceof Error && isAccessDeniedName(error.name)) {
        const denied = memberRoleDenied(accountOf(access.roleArn), access.roleArn, error);
        refused = { error: denied, until: now().getTime() + DENIED_RETRY_AFTER_MS };
        throw denied;
      }
      throw error;
    }
  }

  return async () => {
    const at = now().getTime();
    if (cached && cached.expiration.getTime() - REFRESH_BEFORE_EXPIRY_MS > at) return cached;
    if (refused && refused.until > at) throw refused.error;
    pending ??= assume().finally(() => {
      pending = undefined;
    });
    cached = await pending;
    refused = undefined;
    return cached;
  };
}

/**
 * How a deployment reaches member accounts, from the policy's scope and the engine's own role ARN (its account and
 * partition). Undefined when the role ARN is unknown: the engine then acts with its own credentials everywhere.
 */
export function accountAccessFor(
  scope: { organization?: { memberRole: string; externalId: string } | undefined },
  engineRoleArn: string | undefined,
  stsRegion: string,
): AccountAccess | undefined {
  const parts = engineRoleArn ? /^arn:([^:]+):iam::(\d{12}):role\//.exec(engineRoleArn) : null;
  if (!parts || !engineRoleArn) return undefined;
  const [, partition = "aws", home = ""] = parts;
  const organization = scope.organization;
  return {
    home,
    homeRole: engineRoleArn,
    partition,
    stsRegion,
    ...(organization ? { member: { roleName: organization.memberRole, externalId: organization.externalId } } : {}),
  };
}
