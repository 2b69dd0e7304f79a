import {
  DeleteUserPolicyCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  ListMFADevicesCommand,
  ListUserTagsCommand,
  paginateListUsers,
  PutUserPolicyCommand,
  type IAMClient,
} from "@aws-sdk/client-iam";
import {
  CATEGORIES,
  canonicalJson,
  defineControl,
  eventRef,
  type ChangeEvent,
  type ControlContext,
  type Finding,
  type JsonObject,
  type LiveContext,
  type Plan,
  type ResourceRef,
  type Verdict,
} from "@hipaa-remediate/core";
import { z } from "zod";
import { resolveAccount } from "./lib/account";
import { userRef } from "./lib/arn";
import { isNotFound } from "./lib/aws-errors";
import { parseControlData } from "./lib/control-data";
import { InvalidControlDataError, NotifyOnlyPlanError, ResourceGoneError } from "./lib/errors";
import { objectAt, stringOf } from "./lib/json-fields";
import { decodePolicyDocument, REQUIRE_MFA_POLICY_NAME, requireMfaPolicy } from "./lib/require-mfa-policy";
import { tagMap } from "./lib/tags";

const CONTROL_ID = "iam-console-user-mfa";
const IAM_SOURCE = "iam.amazonaws.com";
const DAY_MS = 86_400_000;
/** `arn:aws:iam::<account>:mfa/<optional path/><device name>`: only virtual devices have such serial numbers. */
const VIRTUAL_MFA_SERIAL = /^arn:aws[a-z-]*:iam::[^:]*:mfa\/(?:.*\/)?([\w+=,.@-]+)$/;

const optionsSchema = z
  .strictObject({
    /**
     * Days from the console password's creation during which a user without MFA gets a warning only. 0 (the
     * default): the MFA requirement applies at once, which still lets the user sign in and enrol a device.
     */
    gracePeriodDays: z
      .int("gracePeriodDays must be a whole number of days")
      .nonnegative("gracePeriodDays must be 0 or more")
      .max(90, "gracePeriodDays must be at most 90")
      .default(0),
  })
  .prefault({});

export type ConsoleMfaOptions = z.output<typeof optionsSchema>;

const evidenceSchema = z.object({
  userName: z.string().min(1),
  userArn: z.string().min(1),
  /** ISO-8601 creation of the console password; null when unknown (offline, for an MFA device event). */
  loginProfileCreated: z.string().nullable(),
  /** Whole days since the console password was created; null when unknown. */
  ageDays: z.int().nonnegative().nullable(),
});

type ConsoleMfaEvidence = z.output<typeof evidenceSchema>;

export type ConsoleMfaPlanParams = {
  userName: string;
  userArn: string;
  action: "require-mfa" | "notify";
  policyName: string;
  /** The exact inline policy document the fix puts, as canonical JSON. */
  policyDocument: string;
};

const planParamsSchema = z.object({
  userName: z.string().min(1),
  userArn: z.string().min(1),
  action: z.enum(["require-mfa", "notify"]),
  policyName: z.literal(REQUIRE_MFA_POLICY_NAME),
  policyDocument: z.string().min(1),
});

/** Captured before the fix: the inline policy of that name the user already had (normally none). */
const beforeSchema = z.object({
  userName: z.string().min(1),
  policyName: z.literal(REQUIRE_MFA_POLICY_NAME),
  previousDocument: z.string().nullable(),
});

/** The user an MFA event concerns: the named user, else the caller's own IAM user (the parameter is optional). */
function namedOrCallingUser(event: ChangeEvent): string | undefined {
  return stringOf(event.request?.userName) ?? (event.actor.type === "IAMUser" ? event.actor.userName : undefined);
}

function loginProfileUser(event: ChangeEvent): ResourceRef[] {
  const userName =
    stringOf(event.request?.userName) ??
    stringOf(objectAt(event.response, "loginProfile")?.userName) ??
    (event.actor.type === "IAMUser" ? event.actor.userName : undefined);
  return userName ? [userRef(userName, event.account)] : [];
}

function deactivatedDeviceUser(event: ChangeEvent): ResourceRef[] {
  const userName = namedOrCallingUser(event);
  return userName ? [userRef(userName, event.account)] : [];
}

/** A virtual MFA device's name, from its serial number. */
export function virtualDeviceName(serialNumber: string | undefined): string | undefined {
  return serialNumber ? VIRTUAL_MFA_SERIAL.exec(serialNumber)?.[1] : undefined;
}

/**
 * DeleteVirtualMFADevice names the device, not its user, and IAM only deletes a device already deactivated (the
 * DeactivateMFADevice event before it names the user). The device name is the only lead: it is taken as a user
 * name, which detection checks live and reports as unconfirmed offline.
 */
function deletedDeviceUser(event: ChangeEvent): ResourceRef[] {
  const deviceName = virtualDeviceName(stringOf(event.request?.serialNumber));
  return deviceName ? [userRef(deviceName, event.account)] : [];
}

function wholeDaysSince(iso: string, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - Date.parse(iso)) / DAY_MS));
}

function graceText(evidence: ConsoleMfaEvidence, options: ConsoleMfaOptions): string {
  if (options.gracePeriodDays === 0) return "no grace period";
  if (evidence.ageDays === null) return `grace period ${options.gracePeriodDays} days, password age unknown`;
  return evidence.ageDays < options.gracePeriodDays
    ? `day ${evidence.ageDays} of a ${options.gracePeriodDays}-day grace period`
    : `${options.gracePeriodDays}-day grace period over`;
}

function finding(
  resource: ResourceRef,
  evidence: ConsoleMfaEvidence,
  context: { what: string; confirmed: boolean; tags: Record<string, string>; event: ChangeEvent | undefined; options: ConsoleMfaOptions },
): Verdict {
  const result: Finding = {
    control: CONTROL_ID,
    resource,
    summary: `User ${evidence.userName} ${context.what} (${graceText(evidence, context.options)})`,
    evidence,
    confirmed: context.confirmed,
    tags: context.tags,
    ...(context.event ? { event: eventRef(context.event) } : {}),
  };
  return { kind: "violation", finding: result };
}

/** What the event alone says; every offline finding is unconfirmed and says what it could not check. */
function detectOffline(resource: ResourceRef, event: ChangeEvent | undefined, ctx: ControlContext<ConsoleMfaOptions>): Verdict[] {
  if (!event) return [];
  const base = { userName: resource.id, userArn: resource.arn };
  const context = { confirmed: false, tags: {}, event, options: ctx.options };
  if (event.name === "CreateLoginProfile") {
    const evidence = { ...base, loginProfileCreated: event.time, ageDays: wholeDaysSince(event.time, ctx.now()) };
    return [finding(resource, evidence, { ...context, what: "was given a console password and has no MFA device yet" })];
  }
  const evidence = { ...base, loginProfileCreated: null, ageDays: null };
  const serial = stringOf(event.request?.serialNumber) ?? "(serial not recorded)";
  const what =
    event.name === "DeleteVirtualMFADevice"
      ? `may have lost MFA: virtual MFA device ${serial} was deleted, and its user is presumed from the device name (unchecked offline; it may not have a console password)`
      : `lost MFA device ${serial} (unchecked offline: another device or no console password would make this compliant)`;
  return [finding(resource, evidence, { ...context, what })];
}

async function loginProfileCreated(iam: IAMClient, userName: string, ctx: ControlContext): Promise<string | null> {
  return ctx.reads.read(`login-profile:${userName}`, async () => {
    try {
      const { LoginProfile: profile } = await iam.send(new GetLoginProfileCommand({ UserName: userName }));
      return profile?.CreateDate?.toISOString() ?? null;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  });
}

async function mfaSerials(iam: IAMClient, userName: string): Promise<string[]> {
  const { MFADevices: devices } = await iam.send(new ListMFADevicesCommand({ UserName: userName }));
  return (devices ?? []).map((device) => device.SerialNumber ?? "(unnamed)");
}

/** The user's inline policy of the engine's name, decoded, or null when there is none. */
async function currentRequireMfaDocument(iam: IAMClient, userName: string): Promise<string | null> {
  try {
    const response = await iam.send(new GetUserPolicyCommand({ UserName: userName, PolicyName: REQUIRE_MFA_POLICY_NAME }));
    const document = decodePolicyDocument(response.PolicyDocument);
    return document === undefined ? (response.PolicyDocument ?? null) : JSON.stringify(document);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

async function userArnOf(iam: IAMClient, userName: string): Promise<string | undefined> {
  try {
    return (await iam.send(new GetUserCommand({ UserName: userName }))).User?.Arn;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function detectLive(resource: ResourceRef, event: ChangeEvent | undefined, ctx: LiveContext<ConsoleMfaOptions>): Promise<Verdict[]> {
  const iam = await ctx.aws.iam();
  const userName = resource.id;
  const gone = (reason: string): Verdict[] => [{ kind: "no-longer-applies", resource, reason }];
  const userArn = await userArnOf(iam, userName);
  if (userArn === undefined) {
    if (event?.name === "DeleteVirtualMFADevice") {
      return gone(
        `no IAM user is named ${userName}: the deleted device's name is not its user's, so the event cannot tell whose it was (the DeactivateMFADevice event before it names the user, and the sweep checks every console user)`,
      );
    }
    return gone(`user ${userName} no longer exists`);
  }
  const created = await loginProfileCreated(iam, userName, ctx);
  if (created === null) return gone(`user ${userName} has no console password`);
  const devices = await mfaSerials(iam, userName);
  if (devices.length > 0) return gone(`user ${userName} has MFA device ${devices.join(", ")}`);
  if ((await currentRequireMfaDocument(iam, userName)) !== null) {
    return gone(`user ${userName} is already held to MFA by inline policy ${REQUIRE_MFA_POLICY_NAME}`);
  }
  const tags = tagMap((await iam.send(new ListUserTagsCommand({ UserName: userName }))).Tags);
  const evidence = { userName, userArn, loginProfileCreated: created, ageDays: wholeDaysSince(created, ctx.now()) };
  return [
    finding(resource, evidence, { what: "has a console password and no MFA device", confirmed: true, tags, event, options: ctx.options }),
  ];
}

function parsePlanParams(plan: Plan<ConsoleMfaPlanParams>): ConsoleMfaPlanParams {
  const params = parseControlData(planParamsSchema, plan.params, `plan for ${CONTROL_ID}`);
  if (params.action === "notify") {
    throw new NotifyOnlyPlanError(`plan for user ${params.userName} is a grace-period warning and changes nothing`);
  }
  return params;
}

function sameDocument(current: string | null, expected: string): boolean {
  if (current === null) return false;
  try {
    return canonicalJson(JSON.parse(current)) === expected;
  } catch {
    return false;
  }
}

/**
 * Console users (IAM users with a password) must use MFA. A user without a device gets an inline policy that
 * denies everything except enrolling their own MFA device until they sign in with one: reversible, unlike
 * deleting the console password.
 */
export const control = defineControl<ConsoleMfaOptions, ConsoleMfaPlanParams>({
  id: CONTROL_ID,
  title: "IAM users with a console password use MFA",
  category: "mfa",
  hipaa: {
    sections: [...CATEGORIES.mfa.hipaa],
    why: "Person or entity authentication (164.312(d)) calls for proof of identity beyond a password for anyone who can reach ePHI through the console.",
  },
  severity: "high",
  defaultMode: "approve",
  options: optionsSchema,
  triggers: [
    { source: IAM_SOURCE, name: "CreateLoginProfile", resources: loginProfileUser },
    { source: IAM_SOURCE, name: "DeactivateMFADevice", resources: deactivatedDeviceUser },
    { source: IAM_SOURCE, name: "DeleteVirtualMFADevice", resources: deletedDeviceUser },
  ],
  permissions: {
    detect: ["iam:ListUsers", "iam:GetUser", "iam:GetLoginProfile", "iam:ListMFADevices", "iam:GetUserPolicy", "iam:ListUserTags"],
    apply: ["iam:ListMFADevices", "iam:GetUserPolicy", "iam:PutUserPolicy"],
    rollback: ["iam:DeleteUserPolicy", "iam:PutUserPolicy"],
  },

  async detect(input, ctx) {
    if (!ctx.aws) return detectOffline(input.resource, input.event, ctx);
    return detectLive(input.resource, input.event, { ...ctx, aws: ctx.aws });
  },

  plan(found, options): Plan<ConsoleMfaPlanParams> {
    const evidence = parseControlData(evidenceSchema, found.evidence, `finding for ${found.resource.id}`);
    const user = evidence.userName;
    const policyDocument = canonicalJson(requireMfaPolicy(evidence.userArn, found.resource.account));
    const base = { userName: user, userArn: evidence.userArn, policyName: REQUIRE_MFA_POLICY_NAME, policyDocument };
    if (evidence.ageDays !== null && evidence.ageDays < options.gracePeriodDays) {
      const due = evidence.loginProfileCreated
        ? new Date(Date.parse(evidence.loginProfileCreated) + options.gracePeriodDays * DAY_MS).toISOString().slice(0, 10)
        : "the end of the grace period";
      return {
        control: CONTROL_ID,
        resource: found.resource,
        summary: `Remind user ${user} to enrol an MFA device: day ${evidence.ageDays} of the ${options.gracePeriodDays}-day grace period; MFA is enforced from ${due}.`,
        steps: [`No change now: user ${user} keeps their access during the grace period.`],
        reversible: true,
        notifyOnly: true,
        params: { ...base, action: "notify" },
      };
    }
    return {
      control: CONTROL_ID,
      resource: found.resource,
      summary: `Require MFA for user ${user}: attach inline policy ${REQUIRE_MFA_POLICY_NAME}, which denies everything except enrolling MFA until they sign in with MFA.`,
      steps: [
        `Check that user ${user} still has no MFA device, and keep any inline policy named ${REQUIRE_MFA_POLICY_NAME} for rollback.`,
        `PutUserPolicy ${REQUIRE_MFA_POLICY_NAME} on ${user}: deny every action without MFA except changing their own password, creating, enabling, listing and resyncing their own MFA device, and sts:GetSessionToken.`,
        `User ${user} loses every action except enrolling MFA until they sign in with MFA; their password, access keys and other policies are untouched (access keys without an MFA session are denied too).`,
        `Rollback deletes the inline policy, restoring access at once.`,
      ],
      reversible: true,
      params: { ...base, action: "require-mfa" },
    };
  },

  async apply(plan, ctx) {
    const params = parsePlanParams(plan);
    const iam = await ctx.aws.iam();
    let devices: string[];
    try {
      devices = await mfaSerials(iam, params.userName);
    } catch (error) {
      if (isNotFound(error)) throw new ResourceGoneError(`user ${params.userName} no longer exists`, { cause: error });
      throw error;
    }
    const previousDocument = await currentRequireMfaDocument(iam, params.userName);
    const before: JsonObject = { userName: params.userName, policyName: params.policyName, previousDocument };
    // Enrolled meanwhile: the user meets the requirement and keeps their access.
    if (devices.length > 0) return { before, after: before };
    await iam.send(
      new PutUserPolicyCommand({ UserName: params.userName, PolicyName: params.policyName, PolicyDocument: params.policyDocument }),
    );
    return { before, after: { userName: params.userName, policyName: params.policyName, document: params.policyDocument } };
  },

  async verify(plan, ctx) {
    const params = parseControlData(planParamsSchema, plan.params, `plan for ${CONTROL_ID}`);
    const iam = await ctx.aws.iam();
    let devices: string[];
    try {
      devices = await mfaSerials(iam, params.userName);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return { ok: false, state: { userName: params.userName, exists: false }, detail: `user ${params.userName} no longer exists` };
    }
    const document = await currentRequireMfaDocument(iam, params.userName);
    const attached = sameDocument(document, params.policyDocument);
    const state = { userName: params.userName, mfaDevices: devices, requireMfaPolicyAttached: attached };
    if (params.action === "notify") return { ok: true, state, detail: "grace-period warning: nothing to verify" };
    const ok = attached || devices.length > 0;
    return {
      ok,
      state,
      ...(ok ? {} : { detail: `user ${params.userName} has no MFA device and inline policy ${params.policyName} is not in place` }),
    };
  },

  async rollback(plan, before, ctx) {
    const params = parsePlanParams(plan);
    const previous = parseControlData(beforeSchema, before, `state captured before ${CONTROL_ID} changed user ${params.userName}`);
    if (previous.userName !== params.userName) {
      throw new InvalidControlDataError(`field userName: captured state is for ${previous.userName}, the plan is for ${params.userName}`);
    }
    const iam = await ctx.aws.iam();
    if (previous.previousDocument !== null) {
      await iam.send(
        new PutUserPolicyCommand({
          UserName: previous.userName,
          PolicyName: previous.policyName,
          PolicyDocument: previous.previousDocument,
        }),
      );
      return;
    }
    try {
      await iam.send(new DeleteUserPolicyCommand({ UserName: previous.userName, PolicyName: previous.policyName }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  },

  /** Users with a console password; detection then checks their MFA devices. */
  async *sweep(ctx) {
    const iam = await ctx.aws.iam();
    const account = await resolveAccount(ctx);
    for await (const page of paginateListUsers({ client: iam }, {})) {
      for (const user of page.Users ?? []) {
        if (!user.UserName) continue;
        if ((await loginProfileCreated(iam, user.UserName, ctx)) !== null) yield userRef(user.UserName, account);
      }
    }
  },
});
