import { z } from "zod";
import { MODES, type AnyControl } from "../controls/contract";
import { EXPIRY_FORMAT, normaliseExpiry } from "./expiry";
import { scopeSchema } from "./scope";
import { didYouMean } from "./suggest";

/**
 * The policy file schema. Every object is strict, so a misspelt key is an error instead of a silently ignored
 * setting, and every field has a default, so an empty file is the built-in default policy. The schema is built
 * per control registry: `controls.<id>` only accepts registered ids, and each control's options are parsed with
 * that control's own schema when the policy loads, never later.
 */

export const modeSchema = z.enum(MODES);
export const KILL_SWITCH_FALLBACKS = ["approve", "dry-run"] as const;
/** Six years of 365 days: HIPAA's documentation retention (45 CFR 164.316(b)(2)(i)). */
export const AUDIT_RETENTION_DAYS_DEFAULT = 2_190;

const accountId = z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id, e.g. "111122223333"');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "expected an AWS region name, e.g. eu-west-1");
const tagKey = z.string().min(1).max(128);
const tagValue = z.string().max(256);
const arnPattern = z.string().regex(/^arn:/, "expected an ARN or an ARN pattern that starts with arn:, e.g. arn:aws:s3:::legacy-*");
const principalArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:(iam|sts)::\d{12}:(role|user|assumed-role)\/.+$/,
    "expected an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/hipaa-remediate-engine",
  );
const roleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "expected an IAM role ARN, e.g. arn:aws:iam::123456789012:role/break-glass");
// Slack ids, not names: approvals compare the clicking user's id, and a name would never match.
const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, "expected a Slack user id, e.g. U012AB3CD");
const slackUserGroupId = z.string().regex(/^S[A-Z0-9]{2,}$/, "expected a Slack user group id, e.g. S0614TZR7");
const slackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, "expected a Slack channel id (not its name), e.g. C0123456789");
const nonEmptyText = z.string().trim().min(1);

/** A control id that must name a registered control; `allowAll` also accepts `*` (every control). */
function controlReference(registry: readonly AnyControl[], allowAll: boolean) {
  const ids = registry.map((control) => control.id);
  const known = new Set<string>(allowAll ? [...ids, "*"] : ids);
  return z.string().superRefine((id, ctx) => {
    if (!known.has(id)) ctx.addIssue({ code: "custom", message: `unknown control "${id}"${didYouMean(id, ids)}` });
  });
}

/** `expires`: a date or a zoned date-time, normalised to an ISO date-time in UTC (see expiry.ts). */
const expirySchema = z.string().transform((text, ctx) => {
  const normalised = normaliseExpiry(text);
  if (normalised === undefined) {
    ctx.addIssue({ code: "custom", message: `expected ${EXPIRY_FORMAT}, got "${text}"` });
    return z.NEVER;
  }
  return normalised;
});

function controlSettingsSchema(control: AnyControl) {
  return z.strictObject({
    /** The mode for this control; falls back to the control's own default, then to `defaultMode`. */
    mode: modeSchema.optional(),
    /** false turns the control off: its findings are recorded as `suppressed` and never fixed. */
    enabled: z.boolean().default(true),
    /** The control's options, parsed with its own schema; absent options are parsed from `{}` (its defaults). */
    options: control.options.prefault({}),
  });
}

function overrideSchema(registry: readonly AnyControl[]) {
  return z.strictObject({
    /** Optional words that name the override in decision reasons, e.g. "production needs a human". */
    description: nonEmptyText.optional(),
    /** All the criteria given must match; at least one is required. */
    match: z
      .strictObject({
        /** The finding's resource is in one of these accounts. */
        accounts: z.array(accountId).min(1).optional(),
        /** The finding's resource is in one of these regions. */
        regions: z.array(region).min(1).optional(),
        /** The resource carries every one of these tags; values may be glob patterns (`*`, `?`). */
        tags: z
          .record(tagKey, tagValue)
          .refine((tags) => Object.keys(tags).length > 0, "expected at least one tag")
          .optional(),
        /** The finding comes from one of these controls. */
        controls: z.array(controlReference(registry, false)).min(1).optional(),
      })
      .refine(
        (match) => Object.values(match).some((criterion) => criterion !== undefined),
        "expected at least one criterion: accounts, regions, tags or controls",
      ),
    /** The mode a matching finding gets. Later overrides win over earlier ones. */
    mode: modeSchema,
  });
}

function exemptionSchema(registry: readonly AnyControl[]) {
  return z.strictObject({
    /** The resource ARN, or a glob over ARNs (`*` any characters, `?` one character). */
    resource: arnPattern,
    /** The control ids it covers, or ["*"] for every control. */
    controls: z.array(controlReference(registry, true)).min(1),
    /** Why the resource is exempt, in words an auditor accepts. */
    reason: nonEmptyText,
    /** Who answers for the exemption. */
    owner: nonEmptyText,
    /** When it lapses: a date (through the end of that day, UTC) or a date-time with a time zone. */
    expires: expirySchema,
  });
}

function controlsSchema(registry: readonly AnyControl[]) {
  // Every registered control gets an entry, so its parsed options are always at hand after loading.
  const shape = Object.fromEntries(registry.map((control) => [control.id, controlSettingsSchema(control).prefault({})]));
  return z.strictObject(shape);
}

export function policySchema(registry: readonly AnyControl[]) {
  return z.strictObject({
    /** The file format version. */
    version: z.literal(1).default(1),
    /** The mode for a control the policy says nothing else about. Dry-run: report, change nothing. */
    defaultMode: modeSchema.default("dry-run"),
    /** Per-control settings, keyed by control id. */
    controls: controlsSchema(registry).prefault({}),
    /** Evaluated in order after the control's mode; every match applies, so later matches win. */
    overrides: z.array(overrideSchema(registry)).default([]),
    /** Resources the engine leaves alone until the exemption expires. */
    exemptions: z.array(exemptionSchema(registry)).default([]),
    /**
     * The tag key that carries an exemption on the resource itself. Its value is a list of fields:
     * `controls=a+b reason=... owner=... expires=2027-01-31` (separated by spaces or `;`, see exemption-tag.ts).
     */
    exemptionTag: tagKey.default("hipaa-remediate:exemption"),
    /** A cap on automatic fixes per window, shared by every engine instance; fixes over the cap become proposals. */
    rateLimit: z
      .strictObject({
        /** Automatic fixes allowed per window; 0 turns every automatic fix into a proposal. */
        maxAutoFixes: z.number().int().min(0).default(20),
        /** The window length in minutes. */
        windowMinutes: z.number().int().min(1).default(60),
      })
      .prefault({}),
    /** Stops automatic fixing everywhere at once, without editing every control. */
    killSwitch: z
      .strictObject({
        /** true: every approve/auto decision becomes `fallback`. */
        engaged: z.boolean().default(false),
        /** approve: fixes wait for a person; dry-run: nothing is changed or proposed. */
        fallback: z.enum(KILL_SWITCH_FALLBACKS).default("approve"),
      })
      .prefault({}),
    /** Who may approve or reject a proposal in Slack. */
    approvers: z
      .strictObject({
        /** Slack user ids. */
        users: z.array(slackUserId).default([]),
        /** Slack user group ids: any member may decide. */
        userGroups: z.array(slackUserGroupId).default([]),
      })
      .prefault({}),
    /** Where proposals are posted. */
    slack: z
      .strictObject({
        /** The Slack channel id for proposals; without it, proposals are only stored (and shown locally). */
        channel: slackChannelId.optional(),
      })
      .prefault({}),
    /** How long a proposal waits for a person. */
    proposals: z
      .strictObject({
        /** A proposal nobody decided within this many hours expires and is never applied. */
        expiryHours: z.number().positive().default(24),
        /** Approvers are reminded once after this many hours without a decision. */
        reminderAfterHours: z.number().positive().default(4),
      })
      .prefault({})
      .refine((proposals) => proposals.reminderAfterHours < proposals.expiryHours, {
        path: ["reminderAfterHours"],
        message: "must be less than proposals.expiryHours, or the reminder would come after the proposal expired",
      }),
    /** How long the deployed audit trail is kept immutable. */
    audit: z
      .strictObject({
        /**
         * Days each export and anchor in the audit bucket stays under Object Lock in compliance mode: nobody, the
         * root user included, can delete or overwrite it sooner. HIPAA asks for six years (45 CFR 164.316(b)(2)(i)).
         * Lengthening it applies to new objects; objects already written keep the retention they were written with.
         */
        retentionDays: z.number().int().min(1).max(36_500).default(AUDIT_RETENTION_DAYS_DEFAULT),
      })
      .prefault({}),
    /** Where the engine works: the regions it watches and sweeps, and the organisation's member accounts. */
    scope: scopeSchema,
    /** The engine's own identity, for the loop guard. */
    engine: z
      .strictObject({
        /** ARNs of the roles or users the engine runs as; changes they make are never remediated. */
        principals: z.array(principalArn).default([]),
      })
      .prefault({}),
    /** Tag conventions the controls rely on. */
    tags: z
      .strictObject({
        /** A resource holds PHI when one of `keys` carries one of `values`. */
        phi: z
          .strictObject({
            keys: z.array(tagKey).min(1).default(["DataClassification", "PHI"]),
            values: z.array(tagValue.min(1)).min(1).default(["PHI", "true"]),
          })
          .prefault({}),
        /** Which tags name the environment, and which of their values are not production. */
        environment: z
          .strictObject({
            keys: z.array(tagKey).min(1).default(["Environment", "Env", "Stage"]),
            nonProduction: z.array(tagValue.min(1)).min(1).default(["dev", "development", "test", "sandbox", "staging"]),
          })
          .prefault({}),
        /** Role ARNs that controls which lock things down (bucket policies, key policies) must keep access for. */
        breakGlassRoles: z.array(roleArn).default([]),
      })
      .prefault({}),
  });
}

export type PolicySchema = ReturnType<typeof policySchema>;
export type PolicyDocument = z.output<PolicySchema>;

/** A loaded, validated policy: the document with every default filled in, plus where it came from. */
export interface Policy extends PolicyDocument {
  /** The file it was read from, or "built-in default". */
  source: string;
}

export type ControlSettings = PolicyDocument["controls"][string];
export type PolicyOverride = PolicyDocument["overrides"][number];
export type PolicyExemption = PolicyDocument["exemptions"][number];
export type RateLimitSettings = PolicyDocument["rateLimit"];
export type KillSwitchSettings = PolicyDocument["killSwitch"];
