import type { AnyControl, Mode } from "./contract";
import type { Policy } from "../policy/schema";
import { ENGINE_TAG_KEY } from "../policy/loop-guard";
import { controlActions, controlPolicyStatements, type PolicyStatementData } from "./iam";

type PolicyView = Pick<Policy, "controls" | "defaultMode" | "overrides" | "killSwitch" | "tags">;
type ControlView = Pick<AnyControl, "id" | "defaultMode" | "permissions">;

/**
 * Every mode `decide` can give a finding of this control under the policy, without knowing the finding: the base
 * mode, each override that could match it (overrides that name other controls cannot), then the kill switch. A
 * disabled control reaches none. The rate limit only ever turns auto into approve, so it adds nothing here that
 * `needsApply` does not already account for.
 */
export function reachableModes(control: Pick<AnyControl, "id" | "defaultMode">, policy: PolicyView): Set<Mode> {
  const settings = policy.controls[control.id];
  if (settings && !settings.enabled) return new Set();
  const modes = new Set<Mode>([settings?.mode ?? control.defaultMode ?? policy.defaultMode]);
  for (const override of policy.overrides) {
    const only = override.match.controls;
    if (only === undefined || only.includes(control.id)) modes.add(override.mode);
  }
  if (!policy.killSwitch.engaged) return modes;
  return new Set([...modes].map((mode) => (mode === "dry-run" ? mode : policy.killSwitch.fallback)));
}

/**
 * Which functions apply a fix, and in which modes: the engine and the sweep apply `auto` decisions; the approval
 * worker applies approved proposals, which `approve` decisions make, and which `auto` ones become past the rate limit.
 */
export const APPLYING_MODES = {
  automatic: ["auto"],
  approved: ["approve", "auto"],
} as const satisfies Record<string, readonly Mode[]>;
export type ApplyingRole = keyof typeof APPLYING_MODES;

/** The controls whose fixes a function applying in `modes` can ever be asked to make under the policy. */
export function controlsThatApply<C extends ControlView>(controls: readonly C[], policy: PolicyView, modes: readonly Mode[]): C[] {
  return controls.filter((control) => {
    const reachable = reachableModes(control, policy);
    return modes.some((mode) => reachable.has(mode));
  });
}

/** The tag keys the engine writes on resources that exist already: its own prefix, and the classification default. */
export function engineTagKeys(policy: PolicyView): string[] {
  const prefix = `${ENGINE_TAG_KEY.split(":")[0]}:*`;
  const classification = policy.controls["datastore-classification-tag"]?.options;
  const tagUnclassified =
    isRecord(classification) && isRecord(classification.tagUnclassified) ? classification.tagUnclassified.key : undefined;
  return [...new Set([prefix, ...(typeof tagUnclassified === "string" ? [tagUnclassified] : [])])];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Where the statements are used: the account whose resources they reach, and its partition (tokens are fine). */
export interface StatementScope {
  account: string;
  partition: string;
  /** Tag keys tag writes are limited to (engineTagKeys). */
  tagKeys: readonly string[];
}

type Conditions = NonNullable<PolicyStatementData["conditions"]>;

/**
 * The known dangerous grants, each narrowed as far as IAM allows. An action listed here leaves the per-service
 * statement on "*" and is granted only by its narrowed statement; a rule applies only to the actions granted.
 */
interface Narrowing {
  sid: string;
  actions: readonly string[];
  resources?: (scope: StatementScope) => string[];
  conditions?: (scope: StatementScope, granted: ReadonlySet<string>) => Conditions | undefined;
}

/** EC2 creations that tag what they create (CreateVolume copies the old volume's tags): authorised as ec2:CreateTags. */
const EC2_TAGGING_CREATIONS = ["CreateVolume", "CreateSnapshot", "CopySnapshot", "CreateSecurityGroup"];

/** Only the engine's tag keys, and a request must name its keys (ForAllValues alone also matches an empty set). */
function engineTagKeysOnly(scope: StatementScope): Conditions {
  return { "ForAllValues:StringLike": { "aws:TagKeys": [...scope.tagKeys] }, Null: { "aws:TagKeys": "false" } };
}

const NARROWINGS: readonly Narrowing[] = [
  {
    // Tags on existing resources.
    sid: "TagsWithEngineKeysOnly",
    actions: [
      "ec2:DeleteTags",
      "dynamodb:TagResource",
      "dynamodb:UntagResource",
      "rds:AddTagsToResource",
      "rds:RemoveTagsFromResource",
      "guardduty:TagResource",
      "cloudtrail:AddTags",
    ],
    conditions: engineTagKeysOnly,
  },
  {
    // Tagging what the engine itself creates, in the same request; CreateTags on existing resources gets the
    // engine's keys only (below).
    sid: "Ec2TagsOnCreation",
    actions: ["ec2:CreateTags"],
    conditions: (_scope, granted) => {
      const creations = EC2_TAGGING_CREATIONS.filter((action) => granted.has(`ec2:${action}`.toLowerCase()));
      return creations.length === 0 ? undefined : { StringEquals: { "ec2:CreateAction": creations } };
    },
  },
  {
    sid: "Ec2TagsWithEngineKeysOnly",
    actions: ["ec2:CreateTags"],
    conditions: engineTagKeysOnly,
  },
  {
    // A bucket policy or public access block write could open a bucket: IAM cannot see the document, so the grant
    // is limited to buckets of the account the engine works in.
    sid: "BucketAccessInOwnAccount",
    actions: ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"],
    conditions: (scope) => ({ StringEquals: { "s3:ResourceAccount": scope.account } }),
  },
  {
    // UpdateAccessKey has no condition on the new status, so it could re-enable a key: it is its own statement,
    // limited to the users of the engine's account (the engine's code only ever deactivates).
    sid: "AccessKeysOfOwnAccountUsers",
    actions: ["iam:UpdateAccessKey"],
    resources: (scope) => [`arn:${scope.partition}:iam::${scope.account}:user/*`],
  },
  {
    sid: "UserPoliciesOfOwnAccountUsers",
    actions: ["iam:PutUserPolicy", "iam:DeleteUserPolicy"],
    resources: (scope) => [`arn:${scope.partition}:iam::${scope.account}:user/*`],
  },
  {
    sid: "PassRolesToConfigOnly",
    actions: ["iam:PassRole"],
    resources: (scope) => [`arn:${scope.partition}:iam::${scope.account}:role/*`],
    conditions: () => ({ StringEquals: { "iam:PassedToService": "config.amazonaws.com" } }),
  },
  {
    sid: "KmsGrantsForAwsServicesOnly",
    actions: ["kms:CreateGrant"],
    conditions: () => ({ Bool: { "kms:GrantIsForAWSResource": "true" } }),
  },
  {
    sid: "FunctionPermissionsInOwnAccount",
    actions: ["lambda:RemovePermission", "lambda:AddPermission", "lambda:UpdateFunctionUrlConfig"],
    resources: (scope) => [`arn:${scope.partition}:lambda:*:${scope.account}:function:*`],
  },
  {
    sid: "SnapshotSharingInOwnAccount",
    actions: ["ec2:ModifySnapshotAttribute", "rds:ModifyDBSnapshotAttribute", "rds:ModifyDBClusterSnapshotAttribute"],
    resources: (scope) => [
      `arn:${scope.partition}:ec2:*:${scope.account}:snapshot/*`,
      `arn:${scope.partition}:rds:*:${scope.account}:snapshot:*`,
      `arn:${scope.partition}:rds:*:${scope.account}:cluster-snapshot:*`,
    ],
  },
];

/** Instance attributes that run code at boot: the engine only ever changes an instance's security groups. */
export const NEVER_MODIFIED_INSTANCE_ATTRIBUTES = ["UserData", "Kernel", "Ramdisk"] as const;

function instanceAttributeGuards(granted: ReadonlySet<string>): PolicyStatementData[] {
  if (!granted.has("ec2:modifyinstanceattribute")) return [];
  // One statement per attribute: keys inside one Null block must all match, and any one of these must be refused.
  return NEVER_MODIFIED_INSTANCE_ATTRIBUTES.map((attribute) => ({
    sid: `NeverModifyInstance${attribute}`,
    effect: "Deny",
    actions: ["ec2:ModifyInstanceAttribute"],
    resources: ["*"],
    conditions: { Null: { [`ec2:Attribute/${attribute}`]: "false" } },
  }));
}

export interface ControlGrantInput {
  controls: readonly ControlView[];
  policy: PolicyView;
  /** The modes in which the role's function applies fixes (APPLYING_MODES); empty for a role that only detects. */
  applyingModes: readonly Mode[];
  scope: StatementScope;
}

/**
 * What a role that detects and fixes may do with the controls, following the policy: every control's detect
 * actions, the apply actions of the controls that can reach one of `applyingModes`, and no rollback-only action
 * (rollback runs from the CLI with the operator's credentials). The dangerous grants are narrowed (NARROWINGS) and
 * instance user data, kernel and ramdisk changes are denied outright. Reusable for any account's role: nothing here
 * depends on CDK.
 */
export function controlGrantStatements(input: ControlGrantInput): PolicyStatementData[] {
  const applying = controlsThatApply(input.controls, input.policy, input.applyingModes);
  const actions = [...new Set([...controlActions(input.controls, ["detect"]), ...controlActions(applying, ["apply"])])];
  const granted = new Set(actions.map((action) => action.toLowerCase()));
  const narrowed = new Set(NARROWINGS.flatMap((rule) => rule.actions.map((action) => action.toLowerCase())));
  const broad = controlPolicyStatements(
    [{ id: "granted", permissions: { detect: actions.filter((a) => !narrowed.has(a.toLowerCase())), apply: [], rollback: [] } }],
    ["detect"],
  );
  const narrowedStatements = NARROWINGS.flatMap((rule): PolicyStatementData[] => {
    const ruleActions = rule.actions.filter((action) => granted.has(action.toLowerCase()));
    if (ruleActions.length === 0) return [];
    const conditions = rule.conditions?.(input.scope, granted);
    if (rule.conditions && conditions === undefined) return [];
    return [
      {
        sid: rule.sid,
        effect: "Allow",
        actions: ruleActions,
        resources: rule.resources?.(input.scope) ?? ["*"],
        ...(conditions ? { conditions } : {}),
      },
    ];
  });
  return [...broad, ...narrowedStatements, ...instanceAttributeGuards(granted)];
}
