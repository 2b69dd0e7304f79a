import {
  CancelKeyDeletionCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { CATEGORIES, type ChangeEvent, type LiveContext, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { hasErrorCode } from "./lib/aws-errors";
import { stringOf } from "./lib/json-fields";
import { KMS_SOURCE, customerKeys, describeKey, kmsKeyRefsFromEvent } from "./lib/kms";
import { defineSettingControl } from "./lib/setting-control";

const DAY_MS = 86_400_000;
/** The waiting period AWS allows for ScheduleKeyDeletion, in days. */
const MIN_WINDOW = 7;
const MAX_WINDOW = 30;

const KEY_ID_OR_ARN =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+)$/;

const optionsSchema = z
  .strictObject({
    /** Customer-managed keys must rotate their key material yearly (where KMS can: symmetric keys made by KMS). */
    requireRotation: z.boolean().default(true),
    /** Keys being retired on purpose (key ids or key ARNs): their deletion, disabling or rotation is left alone. */
    retiredKeys: z
      .array(z.string().trim().regex(KEY_ID_OR_ARN, "retiredKeys entries must be key ids or key ARNs (not aliases)"))
      .default([]),
  })
  .prefault({});

export type KeyProtectionOptions = z.output<typeof optionsSchema>;

/**
 * A key as the control judges it. `null` means "not known" (offline, the event shows one fact). `rotatable` is
 * false for keys KMS cannot rotate automatically (asymmetric, HMAC, imported material); `rotation` is null while a
 * key is pending deletion, since KMS then reports false whatever will come back when the deletion is cancelled.
 */
const keySettingSchema = z.object({
  keyManager: z.enum(["CUSTOMER", "AWS"]).nullable(),
  keyState: z.string().min(1).nullable(),
  rotatable: z.boolean().nullable(),
  rotation: z.boolean().nullable(),
  deletionDate: z.iso.datetime().nullable(),
});

export type KeySetting = z.output<typeof keySettingSchema>;

const UNKNOWN: KeySetting = { keyManager: null, keyState: null, rotatable: null, rotation: null, deletionDate: null };

function canRotate(metadata: KeyMetadata): boolean {
  return metadata.KeySpec === "SYMMETRIC_DEFAULT" && metadata.Origin === "AWS_KMS";
}

async function rotationStatus(kms: KMSClient, keyId: string): Promise<boolean | null> {
  try {
    return (await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled === true;
  } catch (error) {
    if (hasErrorCode(error, "KMSInvalidStateException", "UnsupportedOperationException")) return null;
    throw error;
  }
}

async function readKey(ref: ResourceRef, ctx: LiveContext): Promise<KeySetting> {
  const kms = await ctx.aws.kms(ref.region);
  const metadata = await describeKey(kms, ref.id);
  if (!metadata) return UNKNOWN;
  const keyManager = metadata.KeyManager === "AWS" ? "AWS" : "CUSTOMER";
  const rotatable = keyManager === "CUSTOMER" && canRotate(metadata);
  const pending = metadata.KeyState === "PendingDeletion";
  return {
    keyManager,
    keyState: metadata.KeyState ?? null,
    rotatable,
    rotation: rotatable && !pending ? await rotationStatus(kms, ref.id) : null,
    deletionDate: metadata.DeletionDate ? metadata.DeletionDate.toISOString() : null,
  };
}

/** The days to wait so a rescheduled deletion lands on the saved date again: the original window, within AWS's 7 to 30. */
export function windowFor(deletionDate: string | null, now: Date): number {
  if (deletionDate === null) return MAX_WINDOW;
  const days = Math.ceil((Date.parse(deletionDate) - now.getTime()) / DAY_MS);
  return Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, days));
}

/**
 * Brings the key to `target` against a fresh read, in the order KMS needs: cancelling a deletion leaves the key
 * disabled, so EnableKey follows; rotation is changed while the key is enabled; a deletion is scheduled last.
 */
async function putKey(ref: ResourceRef, target: KeySetting, ctx: LiveContext): Promise<void> {
  const kms = await ctx.aws.kms(ref.region);
  const KeyId = ref.id;
  let live = await readKey(ref, ctx);
  if (live.keyState === "PendingDeletion" && target.keyState !== "PendingDeletion") {
    await kms.send(new CancelKeyDeletionCommand({ KeyId }));
    live = await readKey(ref, ctx);
  }
  if (target.keyState === "Enabled" && live.keyState === "Disabled") await kms.send(new EnableKeyCommand({ KeyId }));
  if (target.rotation !== null && live.rotatable && target.rotation !== (await rotationStatus(kms, KeyId))) {
    await kms.send(target.rotation ? new EnableKeyRotationCommand({ KeyId }) : new DisableKeyRotationCommand({ KeyId }));
  }
  if (target.keyState === "Disabled" && live.keyState === "Enabled") await kms.send(new DisableKeyCommand({ KeyId }));
  if (target.keyState === "PendingDeletion" && live.keyState !== "PendingDeletion") {
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: windowFor(target.deletionDate, ctx.now()) }));
  }
}

export function keyShortfall(current: KeySetting, options: KeyProtectionOptions): string | undefined {
  if (current.keyManager === "AWS") return undefined;
  const gaps: string[] = [];
  if (current.keyState === "PendingDeletion") {
    gaps.push(`is scheduled for deletion${current.deletionDate ? ` on ${current.deletionDate}` : ""}`);
  }
  if (current.keyState === "Disabled") gaps.push("is disabled");
  if (options.requireRotation && current.rotation === false) gaps.push("has automatic rotation off");
  return gaps.length > 0 ? gaps.join(", ") : undefined;
}

export function requiredKey(current: KeySetting, options: KeyProtectionOptions): KeySetting {
  const blocked = current.keyState === "PendingDeletion" || current.keyState === "Disabled";
  return {
    ...current,
    keyState: blocked ? "Enabled" : current.keyState,
    rotation: options.requireRotation && current.rotatable === true ? true : current.rotation,
    deletionDate: null,
  };
}

function describeKeySetting(value: KeySetting): string {
  if (value.keyManager === "AWS") return "AWS-managed (outside this control)";
  const parts: string[] = [];
  if (value.keyState === "PendingDeletion") parts.push(`pending deletion${value.deletionDate ? ` on ${value.deletionDate}` : ""}`);
  else if (value.keyState !== null) parts.push(value.keyState.toLowerCase());
  if (value.rotatable === false) parts.push("without automatic rotation (not supported for this key)");
  else if (value.rotation !== null) parts.push(`rotation ${value.rotation ? "on" : "off"}`);
  return parts.length > 0 ? parts.join(", ") : "unchanged";
}

/** CloudTrail's deletionDate reads like "Jan 1, 2019 12:00:00 AM" (UTC); kept only when it parses. */
function deletionDateOf(event: ChangeEvent): string | null {
  const text = stringOf(event.response?.deletionDate);
  if (!text) return null;
  const parsed = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text} UTC`);
  return Number.isNaN(parsed) ? null : new Date(parsed).toISOString();
}

function keyFromEvent(event: ChangeEvent): KeySetting | undefined {
  switch (event.name) {
    case "ScheduleKeyDeletion":
      return { ...UNKNOWN, keyState: "PendingDeletion", deletionDate: deletionDateOf(event) };
    case "DisableKey":
      return { ...UNKNOWN, keyState: "Disabled" };
    case "DisableKeyRotation":
      return { ...UNKNOWN, rotation: false };
    default:
      return undefined;
  }
}

/**
 * Customer-managed KMS keys that protect ePHI stay usable: a scheduled deletion is cancelled (and the key enabled,
 * since cancelling leaves it disabled), a disabled key is enabled, and automatic rotation is turned back on. Keys
 * the policy lists as retired are left alone; AWS-managed keys are outside the control.
 */
export const control = defineSettingControl<KeyProtectionOptions, KeySetting>({
  id: "kms-key-protection",
  title: "Customer-managed KMS keys are not deleted, disabled or left without rotation",
  category: "encryption-at-rest",
  hipaa: {
    sections: [...CATEGORIES["encryption-at-rest"].hipaa],
    why: "Deleting or disabling the KMS key that encrypts ePHI makes that data unreadable for good or for now, and rotation limits what one exposed key version can decrypt (164.312(a)(2)(iv), 164.312(c)(1)).",
  },
  severity: "critical",
  options: optionsSchema,
  triggers: [
    { source: KMS_SOURCE, name: "ScheduleKeyDeletion", resources: kmsKeyRefsFromEvent },
    { source: KMS_SOURCE, name: "DisableKey", resources: kmsKeyRefsFromEvent },
    { source: KMS_SOURCE, name: "DisableKeyRotation", resources: kmsKeyRefsFromEvent },
  ],
  permissions: {
    detect: ["kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
    apply: ["kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:CancelKeyDeletion", "kms:EnableKey", "kms:EnableKeyRotation"],
    rollback: ["kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation"],
  },
  kind: customerKeys,
  setting: keySettingSchema,

  read: readKey,
  write: putKey,
  shortfall: keyShortfall,
  required: requiredKey,
  describe: describeKeySetting,
  fromEvent: (event) => keyFromEvent(event),
  covers: ({ ref }, ctx) => !ctx.options.retiredKeys.some((retired) => retired === ref.id || retired === ref.arn),
  notes: (_ref, required) => [
    ...(required.keyState === "Enabled" ? ["A cancelled deletion leaves the key disabled, so EnableKey follows CancelKeyDeletion."] : []),
    "Rollback puts the key back as it was: deletion rescheduled to the same date (the original window, 7 to 30 days), disabled, or rotation off.",
  ],
});
