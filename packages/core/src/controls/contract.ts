import type { z } from "zod";
import type { AwsClients } from "../aws/clients";
import type { ChangeEvent, EventRef } from "../events/change-event";
import type { CloudTrailDetailType } from "../events/schemas";
import type { Logger } from "../support/logger";
import type { ReadCache } from "../support/read-cache";
import type { JsonObject } from "../support/json";
import type { CategoryId } from "./categories";

export type Mode = "dry-run" | "approve" | "auto";
export const MODES = ["dry-run", "approve", "auto"] as const satisfies readonly Mode[];
export type Severity = "low" | "medium" | "high" | "critical";

/** A resource a control reasons about. `type` uses CloudFormation type names, e.g. `AWS::S3::Bucket`. */
export interface ResourceRef {
  type: string;
  /** The natural id: bucket name, instance id, `user/AKIA...` for access keys. */
  id: string;
  arn: string;
  account: string;
  region: string;
}

/** Stands for "any eventSource" or "any eventName" in a trigger that has an `actor` condition. */
export const ANY_EVENT = "*";

/**
 * What a control listens to. EventBridge patterns are generated from these. Most triggers are an
 * `eventSource`/`eventName` pair. A trigger with `actor` matches by who made the call instead (e.g. any event of
 * the root user): its source and name may then be `ANY_EVENT`, and `detailTypes` says which CloudTrail
 * deliveries to subscribe to (console sign-ins are not API calls).
 */
export interface TriggerKey {
  /** `eventSource`, e.g. `s3.amazonaws.com`; `ANY_EVENT` only with `actor`. */
  source: string;
  /** `eventName`, e.g. `PutBucketPolicy`; `ANY_EVENT` only with `actor`. */
  name: string;
  /** Only events whose `userIdentity.type` is one of `types` (e.g. `Root`). */
  actor?: { types: readonly string[] };
  /** With `actor`: the detail-types to subscribe to. Defaults to API calls only. */
  detailTypes?: readonly CloudTrailDetailType[];
}

export interface Trigger extends TriggerKey {
  /** Pulls the affected resource(s) out of the event. Must tolerate null or partial request parameters. */
  resources(event: ChangeEvent): ResourceRef[];
}

/** A control's verdict that a resource breaks it, with the evidence. Evidence never holds object contents or secrets. */
export interface Finding {
  control: string;
  resource: ResourceRef;
  /** One line a human can act on: "Bucket phi-x has no default encryption". */
  summary: string;
  evidence: JsonObject;
  /** True when the evidence was confirmed against live state, false when it rests on the event alone (offline replay). */
  confirmed: boolean;
  /** The resource's current tags, used by tag overrides and tag exemptions. */
  tags: Record<string, string>;
  /** The event that triggered detection; absent for sweep findings. */
  event?: EventRef;
}

/**
 * What detection concluded for one resource. `no-longer-applies` is for a resource the event points at
 * that is already compliant or gone: it is logged, and is not an error.
 */
export type Verdict =
  { kind: "violation"; finding: Finding } | { kind: "no-longer-applies"; resource: ResourceRef; reason: string } | RecheckLater;

/**
 * The live state may not have settled yet (tags land seconds after a creation): look again later. The control
 * never waits itself. The runner re-delivers the event after `afterSeconds` through its deferral queue; without
 * one it treats `finding` as a violation found on the current state, and says so.
 */
export interface RecheckLater {
  kind: "recheck-later";
  /** What the control would report if it had to decide now. */
  finding: Finding;
  afterSeconds: number;
  reason: string;
}

/** Exactly what a fix will do: pure data, serialisable and hashable. */
export interface Plan<P extends JsonObject = JsonObject> {
  control: string;
  resource: ResourceRef;
  /** One sentence in plain words. */
  summary: string;
  /** Each change the fix makes, in order, in plain words. */
  steps: string[];
  /** Whether `rollback` can restore the previous state. */
  reversible: boolean;
  /** The finding warrants a warning only (e.g. a key nearing its rotation age): the runner reports it and never applies. */
  notifyOnly?: boolean;
  params: P;
}

/** `before` is the state captured before the change; the runner logs it so `rollback` can restore it. */
export interface ApplyResult {
  before: JsonObject;
  after?: JsonObject;
}

export interface VerifyResult {
  ok: boolean;
  state: JsonObject;
  detail?: string;
}

export interface DetectInput {
  resource: ResourceRef;
  /** Absent when the resource came from a sweep. */
  event?: ChangeEvent;
}

/** Tag conventions from the policy: what marks PHI, and which environments are not production. */
export interface TagConventions {
  phi: { keys: string[]; values: string[] };
  environment: { keys: string[]; nonProduction: string[] };
  /** Role ARNs that controls which lock things down (bucket or key policies) must leave with access. */
  breakGlassRoles?: string[];
}

/** How the engine recognises and marks its own work. */
export interface EngineIdentity {
  /** ARNs of the engine's own principals (roles or users); changes they make are never remediated. */
  principals: string[];
  /** Sent as the SDK's custom user agent, so CloudTrail records carry it. For information only: anyone can send it. */
  userAgent: string;
  /** The role the engine assumes in member accounts: a change by it in any account in scope is the engine's. */
  memberRole?: { name: string; accounts: "all" | string[] };
  /** Tag key put on resources the engine creates or changes. */
  tagKey: string;
}

export interface ControlContext<O = unknown> {
  /** Absent offline (replay without AWS): detection then rests on the event alone. */
  aws?: AwsClients;
  now: () => Date;
  options: O;
  tags: TagConventions;
  engine: EngineIdentity;
  logger: Logger;
  /** Regions a sweep covers. */
  regions: string[];
  /** The account the engine runs in, when known. */
  account?: string;
  /**
   * Live reads shared within one unit of work (one event, one sweep run): listings and tags are read once and
   * shared by every control of that resource type. Detection and sweeps read through it. Apply runs in the scope of
   * the re-check just before it (`ReadCache.forRecheck`), so it may read the state it captures through it; verify
   * never reads through it.
   */
  reads: ReadCache;
}

/** Context for the live steps: AWS is required there. */
export type LiveContext<O = unknown> = ControlContext<O> & { aws: AwsClients };

/** IAM actions a control needs; the stack builds its least-privilege policy from these. */
export interface Permissions {
  detect: string[];
  apply: string[];
  rollback: string[];
}

/**
 * One HIPAA safeguard the engine enforces. Members are declared as methods on purpose: method parameters are
 * checked bivariantly, which lets controls with different option and plan types share one registry list.
 */
export interface Control<O = unknown, P extends JsonObject = JsonObject> {
  readonly id: string;
  readonly title: string;
  readonly category: CategoryId;
  readonly hipaa: { sections: string[]; why: string };
  readonly severity: Severity;
  /** The mode used when the policy names none for this control (the policy's default otherwise). */
  readonly defaultMode?: Mode;
  /** Schema of this control's options in the policy file; it supplies the defaults. Validated when the policy loads. */
  readonly options: z.ZodType<O>;
  readonly triggers: readonly Trigger[];
  readonly permissions: Permissions;

  detect(input: DetectInput, ctx: ControlContext<O>): Promise<Verdict[]>;
  /** Pure: depends on the finding, the options and nothing else. */
  plan(finding: Finding, options: O): Plan<P>;
  apply(plan: Plan<P>, ctx: LiveContext<O>): Promise<ApplyResult>;
  verify(plan: Plan<P>, ctx: LiveContext<O>): Promise<VerifyResult>;
  rollback(plan: Plan<P>, before: JsonObject, ctx: LiveContext<O>): Promise<void>;
  /** Lists the resources of its kind, so a full-account scan reuses `detect`. */
  sweep(ctx: LiveContext<O>): AsyncIterable<ResourceRef>;
}

/** Any registered control, whatever its option and plan types. */
export type AnyControl = Control<unknown, JsonObject>;

/** Identity helper that keeps a control's generic types while type-checking it against the contract. */
export function defineControl<O, P extends JsonObject>(control: Control<O, P>): Control<O, P> {
  return control;
}
