import { scopeRegions, type PolicyScope } from "@hipaa-remediate/core";
import { z } from "zod";

/**
 * Deployment settings that are not in the policy file: where the engine lives and how often it sweeps. They come
 * from the environment of `sst deploy` (see settingsFromEnvironment) or, in tests, are given directly.
 */
export interface AppSettings {
  /** The region that holds the engine. Other regions only forward events to it. */
  homeRegion: string;
  /** EventBridge schedule expression for the full-account sweep. */
  sweepSchedule: ScheduleExpression;
  /** EventBridge schedule expression for the risk assessment: a dry-run sweep and the HIPAA report, stored. */
  riskAssessmentSchedule: ScheduleExpression;
  /** Regions the sweep lists resources in, when not the policy's scope.regions (see sweepRegionsFor). */
  sweepRegions?: string[] | undefined;
  /** Absolute path of the policy file, or undefined for the built-in default policy. */
  policyFile: string | undefined;
  /** An address subscribed (after it confirms) to the alarm topic; without it, subscribe to the topic yourself. */
  alarmEmail?: string | undefined;
  /** "customer-managed": a KMS key of the stack encrypts queues, tables, log groups and the audit bucket. */
  encryptionKey?: EncryptionKeySetting | undefined;
}

export const ENCRYPTION_KEY_SETTINGS = ["aws-managed", "customer-managed"] as const;
export type EncryptionKeySetting = (typeof ENCRYPTION_KEY_SETTINGS)[number];

export type ScheduleExpression = `rate(${string})` | `cron(${string})`;

export class SettingsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SettingsError";
  }
}

export const DEFAULT_SWEEP_SCHEDULE = "rate(1 day)";
export const DEFAULT_RISK_ASSESSMENT_SCHEDULE = "rate(7 days)";

const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "expected an AWS region name, e.g. eu-west-1");
// EventBridge accepts exactly these two forms; anything else would fail only at deploy time, so it is checked here.
const SCHEDULE = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/;
const scheduleExpression = z.string().refine((value): value is ScheduleExpression => SCHEDULE.test(value), {
  message: 'expected an EventBridge schedule expression, e.g. "rate(1 day)" or "cron(0 3 * * ? *)"',
});

const settingsSchema = z.strictObject({
  homeRegion: region,
  sweepSchedule: scheduleExpression,
  riskAssessmentSchedule: scheduleExpression.default(DEFAULT_RISK_ASSESSMENT_SCHEDULE),
  sweepRegions: z.array(region).min(1).optional(),
  policyFile: z.string().min(1).optional(),
  alarmEmail: z.email("expected an e-mail address for the alarm topic, e.g. security@example.org").optional(),
  encryptionKey: z.enum(ENCRYPTION_KEY_SETTINGS).optional(),
});

/** Validates settings, naming the field at fault. */
export function parseSettings(input: unknown): AppSettings {
  const result = settingsSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(settings)"}: ${issue.message}`);
    throw new SettingsError(`Invalid deployment settings:\n  ${problems.join("\n  ")}`, { cause: result.error });
  }
  const { policyFile, sweepRegions, alarmEmail, encryptionKey, ...rest } = result.data;
  // Optional settings that are not set stay absent rather than present as undefined.
  return {
    ...rest,
    ...(sweepRegions === undefined ? {} : { sweepRegions }),
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
    ...(encryptionKey === undefined ? {} : { encryptionKey }),
    policyFile,
  };
}

/** The regions the sweep covers: HIPAA_SWEEP_REGIONS when set, else the regions the policy's scope watches. */
export function sweepRegionsFor(settings: Pick<AppSettings, "sweepRegions">, scope: Pick<PolicyScope, "regions">): string[] {
  return settings.sweepRegions ?? scopeRegions(scope);
}

function list(value: string | undefined): string[] | undefined {
  const items = value
    ?.split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  return items === undefined || items.length === 0 ? undefined : items;
}

/**
 * Reads the settings from the deploying shell:
 * - HIPAA_HOME_REGION: the engine's region (default: the app region, i.e. `--region` or sst.config's region);
 * - HIPAA_SWEEP_SCHEDULE: the sweep schedule (default rate(1 day));
 * - HIPAA_RISK_ASSESSMENT_SCHEDULE: the risk assessment's schedule (default rate(7 days));
 * - HIPAA_SWEEP_REGIONS: comma-separated regions to sweep (default: the policy's scope.regions, see sweepRegionsFor);
 * - HIPAA_POLICY_FILE: the policy file (default ./policy.yaml when it exists, else the built-in default);
 *   resolved by resolvePolicyFile;
 * - HIPAA_ALARM_EMAIL: an address to subscribe to the alarm topic (default: none);
 * - HIPAA_ENCRYPTION_KEY: aws-managed (default) or customer-managed, a KMS key the stack creates.
 */
export function settingsFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  appRegion: string,
  resolvePolicy: (explicit: string | undefined) => string | undefined,
): AppSettings {
  const homeRegion = env.HIPAA_HOME_REGION?.trim() || appRegion;
  return parseSettings({
    homeRegion,
    sweepSchedule: env.HIPAA_SWEEP_SCHEDULE?.trim() || DEFAULT_SWEEP_SCHEDULE,
    riskAssessmentSchedule: env.HIPAA_RISK_ASSESSMENT_SCHEDULE?.trim() || DEFAULT_RISK_ASSESSMENT_SCHEDULE,
    sweepRegions: list(env.HIPAA_SWEEP_REGIONS),
    policyFile: resolvePolicy(env.HIPAA_POLICY_FILE?.trim() || undefined),
    alarmEmail: env.HIPAA_ALARM_EMAIL?.trim() || undefined,
    encryptionKey: env.HIPAA_ENCRYPTION_KEY?.trim() || undefined,
  });
}
