import {
  GetAccessKeyLastUsedCommand,
  ListUserTagsCommand,
  paginateListAccessKeys,
  paginateListUsers,
  StatusType,
  UpdateAccessKeyCommand,
  type AccessKeyMetadata,
  type IAMClient,
} from "@aws-sdk/client-iam";
import {
  CATEGORIES,
  defineControl,
  eventRef,
  type ChangeEvent,
  type Finding,
  type JsonObject,
  type LiveContext,
  type Plan,
  type ResourceRef,
  type Verdict,
} from "@hipaa-remediate/core";
import { z } from "zod";
import { resolveAccount } from "./lib/account";
import { accessKeyRef, userRef } from "./lib/arn";
import { isNotFound } from "./lib/aws-errors";
import { parseControlData } from "./lib/control-data";
import { InvalidControlDataError, NotifyOnlyPlanError, ResourceGoneError } from "./lib/errors";
import { objectAt, stringOf } from "./lib/json-fields";
import { tagMap, type TagMap } from "./lib/tags";

const CONTROL_ID = "iam-access-key-stale";
const IAM_SOURCE = "iam.amazonaws.com";
const DAY_MS = 86_400_000;

const days = (field: string, fallback: number) =>
  z.int(`${field} must be a whole number of days`).positive(`${field} must be at least 1`).default(fallback);

const optionsSchema = z
  .strictObject({
    /** An active key this old gets a rotation warning. */
    warnAfterDays: days("warnAfterDays", 90),
    /** An active key this old is deactivated (never deleted). */
    deactivateAfterDays: days("deactivateAfterDays", 180),
    /** An active key unused this long (counted from creation when never used) gets a warning. */
    unusedAfterDays: days("unusedAfterDays", 90),
  })
  .refine((options) => options.deactivateAfterDays >= options.warnAfterDays, {
    path: ["deactivateAfterDays"],
    message: "deactivateAfterDays must be at least warnAfterDays",
  })
  .prefault({});

export type StaleKeyOptions = z.output<typeof optionsSchema>;

/** What IAM says about one key. Never holds the secret: IAM does not return it after creation, and we never ask. */
export type KeyFacts = {
  userName: string;
  accessKeyId: string;
  status: string;
  /** ISO-8601. */
  createDate: string;
  /** ISO-8601, or null when the key has never been used. */
  lastUsedDate: string | null;
};

export type StaleReason = "age" | "unused";

export type KeyAssessment = {
  ageDays: number;
  /** Days since last use, or since creation for a key never used. */
  idleDays: number;
  reasons: StaleReason[];
};

function wholeDaysBetween(earlier: string, later: Date): number {
  return Math.max(0, Math.floor((later.getTime() - Date.parse(earlier)) / DAY_MS));
}

/** Pure: how stale a key is at `now`. Only an active key can be stale. */
export function assessKey(facts: KeyFacts, now: Date, options: StaleKeyOptions): KeyAssessment {
  const ageDays = wholeDaysBetween(facts.createDate, now);
  const idleDays = wholeDaysBetween(facts.lastUsedDate ?? facts.createDate, now);
  const reasons: StaleReason[] = [];
  if (facts.status === StatusType.Active) {
    if (ageDays >= options.warnAfterDays) reasons.push("age");
    if (idleDays >= options.unusedAfterDays) reasons.push("unused");
  }
  return { ageDays, idleDays, reasons };
}

const evidenceSchema = z.object({
  userName: z.string().min(1),
  accessKeyId: z.string().min(1),
  createDate: z.iso.datetime({ offset: true }),
  ageDays: z.int().nonnegative(),
  idleDays: z.int().nonnegative(),
  reasons: z.array(z.enum(["age", "unused"])).min(1),
});

export type StaleKeyPlanParams = {
  userName: string;
  accessKeyId: string;
  action: "deactivate" | "notify";
  ageDays: number;
  /** ISO date (YYYY-MM-DD) the key reaches the deactivation age. */
  deactivateOn: string;
};

const planParamsSchema = z.object({
  userName: z.string().min(1),
  accessKeyId: z.string().min(1),
  action: z.enum(["deactivate", "notify"]),
  ageDays: z.int().nonnegative(),
  deactivateOn: z.string().min(1),
});

const beforeSchema = z.object({
  userName: z.string().min(1),
  accessKeyId: z.string().min(1),
  status: z.enum([StatusType.Active, StatusType.Inactive, StatusType.Expired]),
});

/** Access key resource ids are `user/AKIA...`; IAM user names cannot contain "/". */
function parseKeyId(resource: ResourceRef): { userName: string; accessKeyId: string } {
  const [userName, accessKeyId, ...rest] = resource.id.split("/");
  if (!userName || !accessKeyId || rest.length > 0) {
    throw new InvalidControlDataError(`resource.id ${resource.id}: expected <userName>/<accessKeyId>`);
  }
  return { userName, accessKeyId };
}

/** The user whose keys a CreateAccessKey event concerns: the named user, else the caller's own IAM user. */
function userNameFromEvent(event: ChangeEvent): string | undefined {
  return (
    stringOf(event.request?.userName) ??
    stringOf(objectAt(event.response, "accessKey")?.userName) ??
    (event.actor.type === "IAMUser" ? event.actor.userName : undefined)
  );
}

/** Only the id of the new key is read from the response; the secret (redacted by CloudTrail anyway) is never touched. */
function newKeyIdFromEvent(event: ChangeEvent | undefined): string | undefined {
  return event ? stringOf(objectAt(event.response, "accessKey")?.accessKeyId) : undefined;
}

function userRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  const userName = userNameFromEvent(event);
  return userName ? [userRef(userName, event.account)] : [];
}

async function listKeys(iam: IAMClient, userName: string): Promise<AccessKeyMetadata[]> {
  const keys: AccessKeyMetadata[] = [];
  for await (const page of paginateListAccessKeys({ client: iam }, { UserName: userName })) {
    keys.push(...(page.AccessKeyMetadata ?? []));
  }
  return keys;
}

async function keyFacts(iam: IAMClient, userName: string, key: AccessKeyMetadata): Promise<KeyFacts | undefined> {
  if (!key.AccessKeyId || !key.CreateDate) return undefined;
  let lastUsedDate: string | null = null;
  // An inactive key cannot be stale, so its last use is not worth a call.
  if (key.Status === StatusType.Active) {
    const lastUsed = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.AccessKeyId }));
    lastUsedDate = lastUsed.AccessKeyLastUsed?.LastUsedDate?.toISOString() ?? null;
  }
  return {
    userName,
    accessKeyId: key.AccessKeyId,
    status: key.Status ?? "unknown",
    createDate: key.CreateDate.toISOString(),
    lastUsedDate,
  };
}

async function userTags(iam: IAMClient, userName: string): Promise<TagMap> {
  const response = await iam.send(new ListUserTagsCommand({ UserName: userName }));
  return tagMap(response.Tags);
}

function staleSummary(facts: KeyFacts, assessment: KeyAssessment, options: StaleKeyOptions): string {
  const parts: string[] = [];
  if (assessment.reasons.includes("age")) {
    parts.push(`is ${assessment.ageDays} days old (rotation age ${options.warnAfterDays} days)`);
  }
  if (assessment.reasons.includes("unused")) {
    parts.push(
      facts.lastUsedDate === null
        ? `has never been used in the ${assessment.idleDays} days since its creation (limit ${options.unusedAfterDays} days)`
        : `has not been used for ${assessment.idleDays} days (limit ${options.unusedAfterDays} days)`,
    );
  }
  return `Access key ${facts.accessKeyId} of user ${facts.userName} ${parts.join(" and ")}`;
}

function notStaleReason(facts: KeyFacts, assessment: KeyAssessment): string {
  if (facts.status !== StatusType.Active) return `access key ${facts.accessKeyId} of user ${facts.userName} is ${facts.status}`;
  return `access key ${facts.accessKeyId} of user ${facts.userName} is ${assessment.ageDays} days old and idle for ${assessment.idleDays}, within the limits`;
}

interface KeyJudgement {
  resource: ResourceRef;
  facts: KeyFacts;
  assessment: KeyAssessment;
}

/** One verdict per key: user tags are fetched once, and only when a key is stale. */
async function verdictsFor(
  judgements: KeyJudgement[],
  ctx: LiveContext<StaleKeyOptions>,
  event: ChangeEvent | undefined,
): Promise<Verdict[]> {
  const firstStale = judgements.find((j) => j.assessment.reasons.length > 0);
  const tags = firstStale ? await userTags(await ctx.aws.iam(), firstStale.facts.userName) : {};
  const newAccessKeyId = newKeyIdFromEvent(event);
  return judgements.map(({ resource, facts, assessment }): Verdict => {
    if (assessment.reasons.length === 0) {
      return { kind: "no-longer-applies", resource, reason: notStaleReason(facts, assessment) };
    }
    const finding: Finding = {
      control: CONTROL_ID,
      resource,
      summary: staleSummary(facts, assessment, ctx.options),
      evidence: {
        ...facts,
        ...assessment,
        ...(newAccessKeyId ? { newAccessKeyId } : {}),
      },
      confirmed: true,
      tags,
      ...(event ? { event: eventRef(event) } : {}),
    };
    return { kind: "violation", finding };
  });
}

async function judgeKeys(
  iam: IAMClient,
  userName: string,
  keys: AccessKeyMetadata[],
  ctx: LiveContext<StaleKeyOptions>,
  account: string,
): Promise<KeyJudgement[]> {
  const judgements: KeyJudgement[] = [];
  for (const key of keys) {
    const facts = await keyFacts(iam, userName, key);
    if (!facts) continue;
    judgements.push({
      resource: accessKeyRef(userName, facts.accessKeyId, account),
      facts,
      assessment: assessKey(facts, ctx.now(), ctx.options),
    });
  }
  return judgements;
}

/** Which of a user's keys one detection judges, and what to say when none is left. */
interface KeySelection {
  userName: string;
  includes(key: AccessKeyMetadata): boolean;
  noneLeft: string;
}

/**
 * A CreateAccessKey event (or a user ref) judges every key of the user except the one just created; a key ref
 * (from a sweep, or the re-check before an approved fix) judges that key alone.
 */
function selectionFor(resource: ResourceRef, event: ChangeEvent | undefined): KeySelection {
  if (resource.type === "AWS::IAM::AccessKey") {
    const { userName, accessKeyId } = parseKeyId(resource);
    return {
      userName,
      includes: (key) => key.AccessKeyId === accessKeyId,
      noneLeft: `access key ${accessKeyId} of user ${userName} no longer exists`,
    };
  }
  const newKeyId = newKeyIdFromEvent(event);
  return {
    userName: resource.id,
    includes: (key) => key.AccessKeyId !== newKeyId,
    noneLeft: `user ${resource.id} has no other access keys`,
  };
}

async function detectLive(resource: ResourceRef, event: ChangeEvent | undefined, ctx: LiveContext<StaleKeyOptions>): Promise<Verdict[]> {
  const iam = await ctx.aws.iam();
  const selection = selectionFor(resource, event);
  let keys: AccessKeyMetadata[];
  try {
    keys = (await listKeys(iam, selection.userName)).filter((key) => selection.includes(key));
  } catch (error) {
    if (isNotFound(error)) return [{ kind: "no-longer-applies", resource, reason: `user ${selection.userName} no longer exists` }];
    throw error;
  }
  if (keys.length === 0) return [{ kind: "no-longer-applies", resource, reason: selection.noneLeft }];
  return verdictsFor(await judgeKeys(iam, selection.userName, keys, ctx, resource.account), ctx, event);
}

/** The day a key created at `createDate` reaches `afterDays`, as YYYY-MM-DD. */
function dayAfter(createDate: string, afterDays: number): string {
  return new Date(Date.parse(createDate) + afterDays * DAY_MS).toISOString().slice(0, 10);
}

/** The key's current status, or a ResourceGoneError when the user or the key is gone. */
async function currentStatus(iam: IAMClient, userName: string, accessKeyId: string): Promise<string> {
  let keys: AccessKeyMetadata[];
  try {
    keys = await listKeys(iam, userName);
  } catch (error) {
    if (isNotFound(error)) throw new ResourceGoneError(`user ${userName} no longer exists`, { cause: error });
    throw error;
  }
  const key = keys.find((candidate) => candidate.AccessKeyId === accessKeyId);
  if (!key) throw new ResourceGoneError(`access key ${accessKeyId} of user ${userName} no longer exists`);
  return key.Status ?? "unknown";
}

function parsePlanParams(plan: Plan<StaleKeyPlanParams>): StaleKeyPlanParams {
  const params = parseControlData(planParamsSchema, plan.params, `plan for ${CONTROL_ID}`);
  if (params.action === "notify") {
    throw new NotifyOnlyPlanError(`plan for access key ${params.accessKeyId} is notify-only and changes nothing`);
  }
  return params;
}

export const control = defineControl<StaleKeyOptions, StaleKeyPlanParams>({
  id: CONTROL_ID,
  title: "IAM access keys are rotated and unused keys retired",
  category: "credential-rotation",
  hipaa: {
    sections: [...CATEGORIES["credential-rotation"].hipaa],
    why: "Long-lived or forgotten access keys are credentials nobody manages; rotating and retiring them is the password-management and access-modification safeguard for systems holding ePHI.",
  },
  severity: "high",
  options: optionsSchema,
  // A key also goes stale without any event; the scheduled sweep covers that case.
  triggers: [{ source: IAM_SOURCE, name: "CreateAccessKey", resources: userRefsFromEvent }],
  permissions: {
    detect: ["iam:ListUsers", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:ListUserTags"],
    apply: ["iam:ListAccessKeys", "iam:UpdateAccessKey"],
    rollback: ["iam:UpdateAccessKey"],
  },

  async detect(input, ctx) {
    // The event only proves that a new key exists; whether the user's other keys are stale needs IAM.
    if (!ctx.aws) return [];
    return detectLive(input.resource, input.event, { ...ctx, aws: ctx.aws });
  },

  plan(finding, options): Plan<StaleKeyPlanParams> {
    const evidence = parseControlData(evidenceSchema, finding.evidence, `finding for ${finding.resource.id}`);
    const deactivateOn = dayAfter(evidence.createDate, options.deactivateAfterDays);
    const key = `access key ${evidence.accessKeyId} of user ${evidence.userName}`;
    const base = { userName: evidence.userName, accessKeyId: evidence.accessKeyId, ageDays: evidence.ageDays, deactivateOn };
    if (evidence.ageDays >= options.deactivateAfterDays) {
      return {
        control: CONTROL_ID,
        resource: finding.resource,
        summary: `Deactivate ${key}: it is ${evidence.ageDays} days old (deactivation age ${options.deactivateAfterDays} days).`,
        steps: [
          `Check that ${key} still exists and record its status for rollback.`,
          `UpdateAccessKey ${evidence.accessKeyId} Status=Inactive (the key is kept; rollback reactivates it).`,
        ],
        reversible: true,
        params: { ...base, action: "deactivate" },
      };
    }
    return {
      control: CONTROL_ID,
      resource: finding.resource,
      summary: `Rotate ${key}: it is ${evidence.ageDays} days old and will be deactivated on ${deactivateOn} (after ${options.deactivateAfterDays} days).`,
      steps: [`No change now: notify the owner of ${key} to rotate it.`],
      reversible: true,
      notifyOnly: true,
      params: { ...base, action: "notify" },
    };
  },

  async apply(plan, ctx) {
    const params = parsePlanParams(plan);
    const iam = await ctx.aws.iam();
    const status = await currentStatus(iam, params.userName, params.accessKeyId);
    const before: JsonObject = { userName: params.userName, accessKeyId: params.accessKeyId, status };
    if (status !== StatusType.Active) return { before, after: before };
    await iam.send(new UpdateAccessKeyCommand({ UserName: params.userName, AccessKeyId: params.accessKeyId, Status: StatusType.Inactive }));
    return { before, after: { ...before, status: StatusType.Inactive } };
  },

  async verify(plan, ctx) {
    const params = parseControlData(planParamsSchema, plan.params, `plan for ${CONTROL_ID}`);
    let status: string;
    try {
      status = await currentStatus(await ctx.aws.iam(), params.userName, params.accessKeyId);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      status = "deleted";
    }
    const state = { userName: params.userName, accessKeyId: params.accessKeyId, status };
    if (params.action === "notify") return { ok: true, state, detail: "notify-only plan: nothing to verify" };
    const ok = status === StatusType.Inactive;
    return { ok, state, ...(ok ? {} : { detail: `access key ${params.accessKeyId} is ${status}, expected Inactive` }) };
  },

  async rollback(plan, before, ctx) {
    const params = parsePlanParams(plan);
    const previous = parseControlData(beforeSchema, before, `state captured before ${CONTROL_ID} changed ${params.accessKeyId}`);
    if (previous.accessKeyId !== params.accessKeyId || previous.userName !== params.userName) {
      throw new InvalidControlDataError(
        `field accessKeyId: captured state is for ${previous.userName}/${previous.accessKeyId}, the plan is for ${params.userName}/${params.accessKeyId}`,
      );
    }
    await (
      await ctx.aws.iam()
    ).send(new UpdateAccessKeyCommand({ UserName: previous.userName, AccessKeyId: previous.accessKeyId, Status: previous.status }));
  },

  async *sweep(ctx) {
    const iam = await ctx.aws.iam();
    const account = await resolveAccount(ctx);
    for await (const page of paginateListUsers({ client: iam }, {})) {
      for (const user of page.Users ?? []) {
        if (!user.UserName) continue;
        let keys: AccessKeyMetadata[];
        try {
          keys = await listKeys(iam, user.UserName);
        } catch (error) {
          // Deleted while the sweep ran.
          if (isNotFound(error)) continue;
          throw error;
        }
        for (const key of keys) {
          if (key.AccessKeyId && key.Status === StatusType.Active) yield accessKeyRef(user.UserName, key.AccessKeyId, account);
        }
      }
    }
  },
});
