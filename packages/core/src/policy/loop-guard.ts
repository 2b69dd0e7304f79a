import type { EngineIdentity } from "../controls/contract";
import type { ChangeEvent } from "../events/change-event";
import type { Policy } from "./schema";

/** Sent as the SDK's custom user agent by every engine client, so CloudTrail records of its calls carry it. */
export const ENGINE_USER_AGENT = "hipaa-remediate";
/** Put on resources the engine creates or changes. */
export const ENGINE_TAG_KEY = "hipaa-remediate:managed";

/**
 * The engine's identity: the policy's principals plus any the deployment knows (e.g. its own Lambda role), and the
 * member role it assumes in the organisation's accounts.
 */
export function engineIdentity(policy: Pick<Policy, "engine" | "scope">, extraPrincipals: readonly string[] = []): EngineIdentity {
  const organization = policy.scope.organization;
  return {
    principals: [...new Set([...policy.engine.principals, ...extraPrincipals])],
    userAgent: ENGINE_USER_AGENT,
    tagKey: ENGINE_TAG_KEY,
    ...(organization
      ? { memberRole: { name: organization.memberRole, accounts: organization.accounts === "all" ? "all" : [...organization.accounts] } }
      : {}),
  };
}

const IAM_ARN = /^arn:([^:]+):(iam|sts)::([^:]*):(.+)$/;

/**
 * Reduces an IAM or STS principal ARN to the identity behind it: `role/<name>` for a role, whatever its path,
 * and for any session of it (`assumed-role/<name>/<session>`, which drops the path); `user/<name>` for a user.
 * Role and user names are unique within an account, so partition, account and name identify the principal.
 */
function principalKey(arn: string): string {
  const parts = IAM_ARN.exec(arn);
  if (!parts) return arn;
  const [, partition, service, account, resource = ""] = parts;
  const segments = resource.split("/");
  const kind = segments[0];
  if (service === "iam" && (kind === "role" || kind === "user") && segments.length >= 2) {
    return `${partition}:${account}:${kind}/${segments[segments.length - 1]}`;
  }
  if (service === "sts" && kind === "assumed-role" && segments.length >= 3) {
    return `${partition}:${account}:role/${segments[1]}`;
  }
  return arn;
}

/** The member role's name when `arn` is that role, or a session of it, in an account the engine acts in. */
function isMemberRole(arn: string, memberRole: NonNullable<EngineIdentity["memberRole"]>): boolean {
  const key = principalKey(arn);
  const parts = /^[^:]+:(\d{12}):role\/(.+)$/.exec(key);
  if (!parts) return false;
  const [, account = "", name] = parts;
  return name === memberRole.name && (memberRole.accounts === "all" || memberRole.accounts.includes(account));
}

/**
 * The loop guard: true when the engine itself made the change, so remediating it would chase its own tail.
 * Matches the actor ARN or the session issuer ARN against the engine's principals (a role ARN also matches every
 * session of that role) and against the member role in the accounts the engine acts in. Only principals count:
 * the user agent is chosen by the caller, so anyone could send the engine's and escape remediation.
 */
export function isEngineChange(event: ChangeEvent, identity: EngineIdentity): boolean {
  const principals = new Set(identity.principals.map(principalKey));
  const actorArns = [event.actor.arn, event.actor.issuerArn].filter((arn): arn is string => arn !== undefined && arn !== "");
  if (actorArns.some((arn) => principals.has(principalKey(arn)))) return true;
  const memberRole = identity.memberRole;
  return memberRole !== undefined && actorArns.some((arn) => isMemberRole(arn, memberRole));
}

/** True when a change carries the engine's user agent: worth a note in the log when the principal is someone else. */
export function carriesEngineUserAgent(event: ChangeEvent, identity: EngineIdentity): boolean {
  const userAgent = event.actor.userAgent;
  return identity.userAgent !== "" && userAgent !== undefined && userAgent.includes(identity.userAgent);
}
