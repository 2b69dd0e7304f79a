import { z } from "zod";
import { GLOBAL_EVENTS_REGION, isGlobalEventSource } from "../controls/patterns";

/**
 * The regions a new AWS account has enabled: every commercial region that is not opt-in. "all-enabled" in a
 * policy means these; opt-in regions (e.g. af-south-1, ap-east-1, me-south-1) must be listed by name, because a
 * deployment cannot create rules in a region the account has not enabled.
 */
export const DEFAULT_ENABLED_REGIONS = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "ca-central-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-central-1",
  "eu-north-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-south-1",
  "sa-east-1",
] as const;

/** The role the engine assumes in each member account, unless the policy names another. */
export const DEFAULT_MEMBER_ROLE_NAME = "hipaa-remediate-remediation";

const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "expected an AWS region name, e.g. eu-west-1");
const accountId = z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id, e.g. "111122223333"');
const organizationId = z.string().regex(/^o-[a-z0-9]{10,32}$/, "expected an AWS Organizations id, e.g. o-a1b2c3d4e5");
// IAM's own limits for sts:AssumeRole's ExternalId and for role names.
const externalId = z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, "expected 2 to 1224 characters of letters, digits and + = , . @ : / - _");
const roleName = z
  .string()
  .regex(/^[\w+=,.@-]{1,64}$/, "expected an IAM role name (1 to 64 characters of letters, digits and + = , . @ - _)");

/** A union's own message: zod's is "Invalid input", which does not say what the field takes. */
function expectedEither(expected: string, input: unknown): string {
  return typeof input === "string" ? `expected ${expected}, got ${JSON.stringify(input)}` : `expected ${expected}`;
}

export const scopeSchema = z
  .strictObject({
    /** Regions whose events reach the engine and that the sweep covers: "all-enabled" or a list. */
    regions: z
      .union([z.literal("all-enabled"), z.array(region).min(1)], {
        error: (issue) => expectedEither('"all-enabled" or a list of region names, e.g. [us-east-1, eu-west-1]', issue.input),
      })
      .default("all-enabled"),
    /** Absent: the engine acts only in the account it is deployed to. */
    organization: z
      .strictObject({
        /** Only this organisation's accounts may put events on the engine's bus. */
        id: organizationId,
        /** The role the member template creates in every member account, and the engine assumes. */
        memberRole: roleName.default(DEFAULT_MEMBER_ROLE_NAME),
        /** Passed on every AssumeRole; the member role's trust policy requires it. */
        externalId,
        /** Accounts the engine acts in: "all" of the organisation, or a list. Events from others are rejected. */
        accounts: z
          .union([z.literal("all"), z.array(accountId).min(1)], {
            error: (issue) => expectedEither('"all" or a list of 12-digit account ids, e.g. ["111122223333"]', issue.input),
          })
          .default("all"),
      })
      .optional(),
  })
  .prefault({});

export type PolicyScope = z.output<typeof scopeSchema>;
export type OrganizationScope = NonNullable<PolicyScope["organization"]>;

/** The regions a policy scope names, with "all-enabled" spelled out. */
export function scopeRegions(scope: Pick<PolicyScope, "regions">): string[] {
  return scope.regions === "all-enabled" ? [...DEFAULT_ENABLED_REGIONS] : [...scope.regions];
}

/** What the scope check needs of an event. */
export interface ScopedEvent {
  account: string;
  region: string;
  /** `eventSource`: global services' events arrive from us-east-1 whatever the scope's regions. */
  source: string;
}

/**
 * Why an event falls outside the policy's scope, or undefined when the engine may act on it. `home` is the account
 * the engine runs in; when it is unknown (a replay of another account's history) accounts are not checked.
 */
export function outOfScopeReason(event: ScopedEvent, scope: PolicyScope, home: string | undefined): string | undefined {
  const regions = scopeRegions(scope);
  const globalEvent = isGlobalEventSource(event.source) && event.region === GLOBAL_EVENTS_REGION;
  if (!globalEvent && !regions.includes(event.region)) {
    const listed =
      scope.regions === "all-enabled"
        ? 'scope.regions is "all-enabled" (opt-in regions must be listed by name)'
        : `scope.regions lists ${regions.join(", ")}`;
    return `region ${event.region || "(none)"} is outside the policy's scope: ${listed}; add the region to act on its events`;
  }
  if (home === undefined || event.account === home) return undefined;
  const organization = scope.organization;
  if (!organization) {
    return `account ${event.account || "(none)"} is not the engine's account ${home} and the policy has no scope.organization; add it to act in member accounts`;
  }
  if (organization.accounts !== "all" && !organization.accounts.includes(event.account)) {
    return `account ${event.account || "(none)"} is not in scope.organization.accounts; add it to act there`;
  }
  return undefined;
}
