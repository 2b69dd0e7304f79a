import { z } from "zod";

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
const externalId = z
  .string()
  .regex(/^[\w+=,.@:/-]{2,1224}$/, "expected 2 to 1224 characters of letters, digits and + = , . @ : / - _");
const roleName = z.string().regex(/^[\w+=,.@-]{1,64}$/, "expected an IAM role name (1 to 64 characters of letters, digits and + = , . @ - _)");

export const scopeSchema = z
  .strictObject({
    /** Regions whose events reach the engine and that the sweep covers: "all-enabled" or a list. */
    regions: z.union([z.literal("all-enabled"), z.array(region).min(1)]).default("all-enabled"),
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
        accounts: z.union([z.literal("all"), z.array(accountId).min(1)]).default("all"),
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
