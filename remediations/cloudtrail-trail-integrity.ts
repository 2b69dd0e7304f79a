import {
  CreateTrailCommand,
  DeleteTrailCommand,
  GetEventSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
  type UpdateTrailCommandInput,
} from "@aws-sdk/client-cloudtrail";
import { CATEGORIES, canonicalJson, defineControl, type ChangeEvent, type LiveContext, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { resolveAccount } from "./lib/account";
import { hasErrorCode } from "./lib/aws-errors";
import {
  CLOUDTRAIL_SOURCE,
  TRAIL_NOT_FOUND,
  eventSelectorsSchema,
  logsManagementWrites,
  selectorsForApi,
  selectorsFromApi,
  selectorsFromRequest,
  trailRef,
  trailRefsFromEvent,
  trails,
  withManagementEvents,
} from "./lib/cloudtrail";
import { ResourceGoneError } from "./lib/errors";
import { booleanOf, stringOf } from "./lib/json-fields";
import { kmsKeyReference } from "./lib/options";
import { defineSettingControl, type SettingPlanParams } from "./lib/setting-control";

const CONTROL_ID = "cloudtrail-trail-integrity";

/** Why this control matters more than its neighbours: it keeps the engine's own input flowing. */
export const BLIND_SPOT =
  "EventBridge receives management events only while a trail records them, so until this is fixed this engine (and any auditor) may not see changes made in the account";

const recreateSchema = z.strictObject({
  /** The bucket the recreated trail delivers to; its bucket policy must let CloudTrail write. */
  s3BucketName: z.string().trim().min(3, "s3BucketName must name the S3 bucket the trail delivers to"),
  s3KeyPrefix: z.string().trim().min(1).optional(),
  /** Encrypts the recreated trail's log files with this key (else the top-level kmsKeyId, else SSE-S3). */
  kmsKeyId: kmsKeyReference().optional(),
  multiRegion: z.boolean().default(true),
  /** The trail's home region, where the sweep looks for a named trail that is missing. Default: the first sweep region. */
  region: z.string().trim().min(1).optional(),
});

export type RecreateSettings = z.output<typeof recreateSchema>;

const optionsSchema = z
  .strictObject({
    /** "all" covers every trail; a list covers only the trails named, and a sweep then also notices a named trail that is missing. */
    trails: z.union([z.literal("all"), z.array(z.string().trim().min(1)).min(1)]).default("all"),
    require: z
      .strictObject({
        logging: z.boolean().default(true),
        logFileValidation: z.boolean().default(true),
        multiRegion: z.boolean().default(true),
        managementEvents: z.boolean().default(true),
        /** Off by default: putting encryption back needs a key, given as `kmsKeyId`. */
        kmsEncrypted: z.boolean().default(false),
      })
      .prefault({}),
    /** The key put back on a trail whose KMS encryption was removed; required when `require.kmsEncrypted` is true. */
    kmsKeyId: kmsKeyReference().optional(),
    /** Settings to recreate a deleted trail with, keyed by trail name; the key "*" applies to every other trail. */
    recreate: z.record(z.string().trim().min(1), recreateSchema).default({}),
  })
  .prefault({})
  .superRefine((options, issues) => {
    if (options.require.kmsEncrypted && !options.kmsKeyId) {
      issues.addIssue({
        code: "custom",
        path: ["kmsKeyId"],
        message: "kmsKeyId is required when require.kmsEncrypted is true: it is the key put back on a trail that lost its encryption",
      });
    }
  });

export type TrailIntegrityOptions = z.output<typeof optionsSchema>;

/**
 * What the control knows about a trail. `null` means "not known": offline, the event shows only what the call
 * changed; a live read fills every field but the delivery bucket. `kmsKeyId` is "" for a trail without KMS
 * encryption. `s3BucketName` is set only in a target built from the policy's recreate settings.
 */
const trailSettingSchema = z.object({
  exists: z.boolean(),
  logging: z.boolean().nullable(),
  logFileValidation: z.boolean().nullable(),
  multiRegion: z.boolean().nullable(),
  includeGlobalServiceEvents: z.boolean().nullable(),
  kmsKeyId: z.string().nullable(),
  eventSelectors: eventSelectorsSchema.nullable(),
  s3BucketName: z.string().nullable(),
  s3KeyPrefix: z.string().nullable(),
});

export type TrailSetting = z.output<typeof trailSettingSchema>;

const UNKNOWN: TrailSetting = {
  exists: true,
  logging: null,
  logFileValidation: null,
  multiRegion: null,
  includeGlobalServiceEvents: null,
  kmsKeyId: null,
  eventSelectors: null,
  s3BucketName: null,
  s3KeyPrefix: null,
};

const DELETED: TrailSetting = { ...UNKNOWN, exists: false };

export function recreateSettingsFor(name: string, options: TrailIntegrityOptions): RecreateSettings | undefined {
  return options.recreate[name] ?? options.recreate["*"];
}

/** The trail as it is now, or DELETED when CloudTrail no longer knows it. */
async function readTrail(ref: ResourceRef, ctx: LiveContext): Promise<TrailSetting> {
  const cloudTrail = await ctx.aws.cloudTrail(ref.region);
  try {
    const { Trail: trail } = await cloudTrail.send(new GetTrailCommand({ Name: ref.arn }));
    const status = await cloudTrail.send(new GetTrailStatusCommand({ Name: ref.arn }));
    const selectors = await cloudTrail.send(new GetEventSelectorsCommand({ TrailName: ref.arn }));
    return {
      exists: true,
      logging: status.IsLogging === true,
      logFileValidation: trail?.LogFileValidationEnabled === true,
      multiRegion: trail?.IsMultiRegionTrail === true,
      includeGlobalServiceEvents: trail?.IncludeGlobalServiceEvents === true,
      // AWS leaves KmsKeyId out when the trail has none; the emulator answers "" once a key was removed.
      kmsKeyId: trail?.KmsKeyId ?? "",
      eventSelectors: selectorsFromApi(selectors),
      // Not judged, and left out on purpose: only a plan made from the policy's recreate settings may create a trail.
      s3BucketName: null,
      s3KeyPrefix: null,
    };
  } catch (error) {
    if (hasErrorCode(error, TRAIL_NOT_FOUND)) return DELETED;
    throw error;
  }
}

function sameSelectors(a: TrailSetting["eventSelectors"], b: TrailSetting["eventSelectors"]): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

async function createTrail(ref: ResourceRef, target: TrailSetting, ctx: LiveContext): Promise<void> {
  // A trail deleted after a plan to restart or restore it: the deletion is its own finding, with its own plan.
  if (!target.s3BucketName) throw new ResourceGoneError(`trail ${ref.id} no longer exists`);
  const cloudTrail = await ctx.aws.cloudTrail(ref.region);
  await cloudTrail.send(
    new CreateTrailCommand({
      Name: ref.id,
      S3BucketName: target.s3BucketName,
      ...(target.s3KeyPrefix ? { S3KeyPrefix: target.s3KeyPrefix } : {}),
      ...(target.kmsKeyId ? { KmsKeyId: target.kmsKeyId } : {}),
      IsMultiRegionTrail: target.multiRegion === true,
      IncludeGlobalServiceEvents: target.includeGlobalServiceEvents !== false,
      EnableLogFileValidation: target.logFileValidation !== false,
      TagsList: [{ Key: ctx.engine.tagKey, Value: "recreated" }],
    }),
  );
}

/**
 * Brings the trail to `target`, field by field, against a fresh read: a field that is null (unknown) or already
 * right is not written. A target that does not exist deletes the trail (the rollback of a recreation).
 */
async function putTrail(ref: ResourceRef, target: TrailSetting, ctx: LiveContext): Promise<void> {
  const cloudTrail = await ctx.aws.cloudTrail(ref.region);
  let live = await readTrail(ref, ctx);
  if (!target.exists) {
    // DeleteTrail by name: the emulator does not delete by ARN.
    if (live.exists) await cloudTrail.send(new DeleteTrailCommand({ Name: ref.id }));
    return;
  }
  if (!live.exists) {
    await createTrail(ref, target, ctx);
    live = await readTrail(ref, ctx);
  }
  const update: Partial<UpdateTrailCommandInput> = {};
  if (target.logFileValidation !== null && target.logFileValidation !== live.logFileValidation) {
    update.EnableLogFileValidation = target.logFileValidation;
  }
  if (target.multiRegion !== null && target.multiRegion !== live.multiRegion) update.IsMultiRegionTrail = target.multiRegion;
  if (target.includeGlobalServiceEvents !== null && target.includeGlobalServiceEvents !== live.includeGlobalServiceEvents) {
    update.IncludeGlobalServiceEvents = target.includeGlobalServiceEvents;
  }
  // "" removes a trail's KMS encryption, which is how rollback puts back a trail that had none.
  if (target.kmsKeyId !== null && target.kmsKeyId !== live.kmsKeyId) update.KmsKeyId = target.kmsKeyId;
  if (Object.keys(update).length > 0) await cloudTrail.send(new UpdateTrailCommand({ Name: ref.arn, ...update }));
  if (target.eventSelectors !== null && !sameSelectors(target.eventSelectors, live.eventSelectors)) {
    await cloudTrail.send(new PutEventSelectorsCommand({ TrailName: ref.arn, ...selectorsForApi(target.eventSelectors) }));
  }
  if (target.logging !== null && target.logging !== live.logging) {
    await cloudTrail.send(target.logging ? new StartLoggingCommand({ Name: ref.arn }) : new StopLoggingCommand({ Name: ref.arn }));
  }
}

/** The gaps that blind the engine, each named as a fact about the trail. */
function blindingGaps(current: TrailSetting, options: TrailIntegrityOptions): string[] {
  if (!current.exists) return ["was deleted"];
  const gaps: string[] = [];
  if (options.require.logging && current.logging === false) gaps.push("has stopped logging");
  if (options.require.managementEvents && current.eventSelectors !== null && !logsManagementWrites(current.eventSelectors)) {
    gaps.push("no longer records management write events");
  }
  return gaps;
}

function weakeningGaps(current: TrailSetting, options: TrailIntegrityOptions): string[] {
  if (!current.exists) return [];
  const gaps: string[] = [];
  if (options.require.logFileValidation && current.logFileValidation === false) gaps.push("has log file validation off");
  if (options.require.multiRegion && current.multiRegion === false) gaps.push("records only its home region");
  if (options.require.kmsEncrypted && current.kmsKeyId === "") gaps.push("has no KMS encryption");
  return gaps;
}

export function trailShortfall(current: TrailSetting, options: TrailIntegrityOptions): string | undefined {
  const blinding = blindingGaps(current, options);
  const gaps = [...blinding, ...weakeningGaps(current, options)];
  if (gaps.length === 0) return undefined;
  return blinding.length > 0 ? `${gaps.join(", ")}: ${BLIND_SPOT}` : gaps.join(", ");
}

/** The trail as the policy wants it. A deleted trail without recreate settings stays deleted: the plan then only notifies. */
export function requiredTrail(current: TrailSetting, options: TrailIntegrityOptions, ref: ResourceRef): TrailSetting {
  if (!current.exists) {
    const settings = recreateSettingsFor(ref.id, options);
    if (!settings) return current;
    return {
      exists: true,
      logging: true,
      logFileValidation: true,
      multiRegion: settings.multiRegion,
      includeGlobalServiceEvents: true,
      kmsKeyId: settings.kmsKeyId ?? options.kmsKeyId ?? "",
      eventSelectors: null,
      s3BucketName: settings.s3BucketName,
      s3KeyPrefix: settings.s3KeyPrefix ?? null,
    };
  }
  const { require } = options;
  return {
    ...current,
    logging: require.logging && current.logging === false ? true : current.logging,
    logFileValidation: require.logFileValidation && current.logFileValidation === false ? true : current.logFileValidation,
    multiRegion: require.multiRegion && current.multiRegion === false ? true : current.multiRegion,
    // A multi-region trail must also record global services (IAM, STS): AWS refuses the one without the other.
    includeGlobalServiceEvents: require.multiRegion && current.multiRegion === false ? true : current.includeGlobalServiceEvents,
    kmsKeyId: require.kmsEncrypted && current.kmsKeyId === "" ? (options.kmsKeyId ?? "") : current.kmsKeyId,
    eventSelectors:
      require.managementEvents && current.eventSelectors !== null ? withManagementEvents(current.eventSelectors) : current.eventSelectors,
  };
}

export function describeTrail(value: TrailSetting): string {
  if (!value.exists) return "deleted";
  const parts: string[] = [];
  if (value.logging !== null) parts.push(value.logging ? "logging" : "not logging");
  if (value.logFileValidation !== null) parts.push(`log file validation ${value.logFileValidation ? "on" : "off"}`);
  if (value.multiRegion !== null) parts.push(value.multiRegion ? "multi-region" : "home region only");
  if (value.kmsKeyId !== null) parts.push(value.kmsKeyId === "" ? "no KMS key" : `KMS key ${value.kmsKeyId}`);
  if (value.eventSelectors !== null) {
    parts.push(logsManagementWrites(value.eventSelectors) ? "management events recorded" : "management events not recorded");
  }
  if (value.s3BucketName !== null) parts.push(`delivering to bucket ${value.s3BucketName}`);
  return parts.length > 0 ? parts.join(", ") : "unchanged";
}

/** What a call did to the trail, as far as its record shows; undefined when it shows nothing about the policy's settings. */
export function trailFromEvent(event: ChangeEvent): TrailSetting | undefined {
  const request = event.request;
  switch (event.name) {
    case "StopLogging":
      return { ...UNKNOWN, logging: false };
    case "DeleteTrail":
      return DELETED;
    case "UpdateTrail": {
      const response = event.response;
      // The request holds only what changed; "" for kmsKeyId means the key was removed.
      const kmsKeyId = request?.kmsKeyId === "" ? "" : (stringOf(request?.kmsKeyId) ?? null);
      return {
        ...UNKNOWN,
        logFileValidation: booleanOf(request?.enableLogFileValidation) ?? booleanOf(response?.logFileValidationEnabled) ?? null,
        multiRegion: booleanOf(request?.isMultiRegionTrail) ?? booleanOf(response?.isMultiRegionTrail) ?? null,
        kmsKeyId,
      };
    }
    case "PutEventSelectors": {
      const selectors = selectorsFromRequest(request);
      return selectors ? { ...UNKNOWN, eventSelectors: selectors } : undefined;
    }
    default:
      return undefined;
  }
}

function covered(ref: ResourceRef, options: TrailIntegrityOptions): boolean {
  return options.trails === "all" || options.trails.includes(ref.id);
}

const settingControl = defineSettingControl<TrailIntegrityOptions, TrailSetting>({
  id: CONTROL_ID,
  title: "CloudTrail trails keep logging, validated, multi-region and recording management events",
  category: "audit-logging",
  hipaa: {
    sections: [...CATEGORIES["audit-logging"].hipaa],
    why: "The trail is the account's audit record of who did what to ePHI systems (164.312(b)), and while it records management events it is also what lets EventBridge, and so this engine, see changes at all.",
  },
  severity: "critical",
  // A deleted trail is recreated with new settings, which a person should confirm; a policy can set this control to auto.
  defaultMode: "approve",
  options: optionsSchema,
  triggers: [
    { source: CLOUDTRAIL_SOURCE, name: "StopLogging", resources: trailRefsFromEvent },
    { source: CLOUDTRAIL_SOURCE, name: "DeleteTrail", resources: trailRefsFromEvent },
    { source: CLOUDTRAIL_SOURCE, name: "UpdateTrail", resources: trailRefsFromEvent },
    { source: CLOUDTRAIL_SOURCE, name: "PutEventSelectors", resources: trailRefsFromEvent },
  ],
  permissions: {
    detect: [
      "cloudtrail:DescribeTrails",
      "cloudtrail:GetTrail",
      "cloudtrail:GetTrailStatus",
      "cloudtrail:GetEventSelectors",
      "cloudtrail:ListTags",
    ],
    apply: [
      "cloudtrail:GetTrail",
      "cloudtrail:GetTrailStatus",
      "cloudtrail:GetEventSelectors",
      "cloudtrail:StartLogging",
      "cloudtrail:UpdateTrail",
      "cloudtrail:PutEventSelectors",
      "cloudtrail:CreateTrail",
      "cloudtrail:AddTags",
    ],
    rollback: [
      "cloudtrail:GetTrail",
      "cloudtrail:GetTrailStatus",
      "cloudtrail:GetEventSelectors",
      "cloudtrail:StopLogging",
      "cloudtrail:UpdateTrail",
      "cloudtrail:PutEventSelectors",
      "cloudtrail:DeleteTrail",
    ],
  },
  kind: trails,
  setting: trailSettingSchema,

  read: readTrail,
  write: putTrail,
  shortfall: (current, options) => trailShortfall(current, options),
  required: requiredTrail,
  describe: describeTrail,
  fromEvent: (event) => trailFromEvent(event),
  covers: ({ ref }, ctx) => covered(ref, ctx.options),
  notifyOnly: (ref, required) =>
    required.exists
      ? undefined
      : `Trail ${ref.id} was deleted and the policy gives no settings to recreate it: recreate it by hand in ${ref.region} (CreateTrail, then StartLogging), or add them to controls.${CONTROL_ID}.options.recreate. ${BLIND_SPOT}.`,
  notes: (ref, required) =>
    required.s3BucketName !== null
      ? [
          `Recreate it: CreateTrail ${ref.id} in ${ref.region} delivering to bucket ${required.s3BucketName}, then StartLogging. Rollback deletes the recreated trail.`,
        ]
      : [],
});

/**
 * CloudTrail trail integrity. Setting-shaped (read the trail, compare, write, restore), with two additions: a
 * deleted trail is recreated only from settings the policy gives (otherwise the plan only notifies), and a
 * sweep over a list of named trails also yields the named trails that no longer exist, since their deletion may
 * be the very event the engine never saw.
 */
export const control = defineControl<TrailIntegrityOptions, SettingPlanParams<TrailSetting>>({
  ...settingControl,

  async *sweep(ctx) {
    const listed = new Set<string>();
    for await (const ref of trails.list(ctx)) {
      listed.add(ref.id);
      yield ref;
    }
    const { trails: wanted } = ctx.options;
    if (wanted === "all") return;
    const account = await resolveAccount(ctx);
    for (const name of wanted) {
      if (listed.has(name)) continue;
      yield trailRef(name, account, recreateSettingsFor(name, ctx.options)?.region ?? ctx.regions[0] ?? "us-east-1");
    }
  },
});
