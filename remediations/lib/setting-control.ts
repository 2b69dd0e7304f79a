import {
  defineControl,
  eventRef,
  ReadCache,
  type CategoryId,
  type ChangeEvent,
  type Control,
  type ControlContext,
  type Finding,
  type JsonObject,
  type JsonValue,
  type LiveContext,
  type Mode,
  type Permissions,
  type Plan,
  type ResourceRef,
  type Severity,
  type Trigger,
  type Verdict,
} from "@hipaa-remediate/core";
import { z } from "zod";
import { isNotFound } from "./aws-errors";
import { parseControlData } from "./control-data";
import { InvalidControlDataError, NotifyOnlyPlanError, ResourceGoneError } from "./errors";
import type { ResourceKind } from "./resource-kind";
import type { TagMap } from "./tags";
import { capitalise } from "./text";

/**
 * The shape most controls share: read a setting, compare it with what the policy requires, write the required
 * value, read it back, and write the saved value on rollback. A control of that shape is its declaration plus
 * `read`, `write` and `shortfall`; this module turns them into the full control contract (offline and live
 * detection, a pure plan, apply with a fresh re-check and the state captured before the change, verify, rollback).
 *
 * `S` is the setting as plain JSON: it travels through plans, proposals and the log, and is read back from them
 * with `setting` (a zod schema), so a tampered or truncated entry is refused instead of written to AWS.
 */
export interface SettingControlSpec<O, S extends JsonValue> {
  id: string;
  title: string;
  category: CategoryId;
  hipaa: { sections: string[]; why: string };
  severity: Severity;
  defaultMode?: Mode;
  options: z.ZodType<O>;
  triggers: readonly Trigger[];
  permissions: Permissions;
  /**
   * The resources the control covers; its `list` is the sweep, its `tags` feed overrides and exemptions. A control
   * over several resource types (RDS instances and clusters) names one kind per type: a resource is handled by the
   * kind of its `type`, and the sweep lists every kind.
   */
  kind: ResourceKind | readonly ResourceKind[];
  /** Schema of the setting, used to read plans and captured state back. */
  setting: z.ZodType<S>;
  /** The setting as it is now. Throws the service's not-found error when the resource is gone. */
  read(ref: ResourceRef, ctx: LiveContext<O>): Promise<S>;
  /**
   * How detection reads the setting when sibling controls can share the read (one description per database
   * for every RDS control): it must go through `ctx.reads`. Apply reads the same way, in the re-check's fresh
   * scope; verify always uses `read`. Defaults to `read`, cached for this control alone.
   */
  readShared?(ref: ResourceRef, ctx: LiveContext<O>): Promise<S>;
  /** Puts `value` in place. */
  write(ref: ResourceRef, value: S, ctx: LiveContext<O>): Promise<void>;
  /** Puts back the value captured before the fix; when absent, `write` does. (E.g. delete a policy that was absent.) */
  restore?(ref: ResourceRef, before: S, ctx: LiveContext<O>): Promise<void>;
  /** Why `current` falls short of the policy, or undefined when it complies. Pure. */
  shortfall(current: S, options: O, ref: ResourceRef): string | undefined;
  /** The value the fix writes, given the current one (so it can keep what already complies). Pure. */
  required(current: S, options: O, ref: ResourceRef): S;
  /** The setting in plain words, for summaries, plans and the approver. */
  describe(value: S): string;
  /**
   * What the event alone says the setting became, for offline detection; undefined when the event cannot tell.
   * Without it, offline detection reports nothing for this control.
   */
  fromEvent?(event: ChangeEvent, ref: ResourceRef, options: O): S | undefined;
  /**
   * Narrows the control to some resources (PHI buckets, named trails). `tags` are the live tags, or offline the
   * tags the event carries (usually none); `live` says which. Resources it turns down get no verdict at all.
   */
  covers?(target: { ref: ResourceRef; tags: TagMap; live: boolean; event?: ChangeEvent }, ctx: ControlContext<O>): boolean;
  /** The plan's summary sentence, when "Set <noun> <id> to <describe(required)>" does not say it well. */
  summarise?(ref: ResourceRef, required: S): string;
  /** False when rollback cannot restore the previous state exactly. Defaults to true. */
  reversible?: boolean;
  /** Extra lines for the plan, after the generic read and write steps: who loses what, what it costs. */
  notes?(ref: ResourceRef, required: S, options: O): string[];
  /**
   * Why the engine cannot write this resource's setting (RDS cannot encrypt a database in place), or undefined
   * when it can. A resource with a reason gets a notify-only plan: its steps tell a person what to do, and
   * apply and rollback refuse it.
   */
  notifyOnly?(ref: ResourceRef, required: S, options: O): string | undefined;
  /**
   * For controls whose triggers are broad calls shared with sibling controls (ModifyDBInstance changes any of a
   * database's settings): when the event did not break this setting (`fromEvent` says nothing, or a compliant
   * value) and the resource complies, detection returns no verdict instead of "no longer applies", so one change
   * does not log a verdict from every sibling. A resource the event did break still ends as "no longer applies".
   */
  quietUnlessEventBreaksIt?: boolean;
}

/** A setting control's plan parameters: the resource and the exact value the fix writes. */
export interface SettingPlanParams<S extends JsonValue> {
  [key: string]: JsonValue;
  resource: ResourceRef & JsonObject;
  required: S;
}

const resourceSchema = z.object({
  type: z.string().min(1),
  id: z.string().min(1),
  arn: z.string().min(1),
  account: z.string(),
  region: z.string().min(1),
});

/** What apply captures before the change: enough for rollback to restore exactly the previous value. */
function capturedSchema<S extends JsonValue>(setting: z.ZodType<S>) {
  return z.object({ arn: z.string().min(1), value: setting });
}

function refOf(resource: ResourceRef): ResourceRef & JsonObject {
  return { type: resource.type, id: resource.id, arn: resource.arn, account: resource.account, region: resource.region };
}

export function defineSettingControl<O, S extends JsonValue>(spec: SettingControlSpec<O, S>): Control<O, SettingPlanParams<S>> {
  const planSchema = z.object({ resource: resourceSchema, required: spec.setting });
  const captured = capturedSchema(spec.setting);
  const kinds: readonly ResourceKind[] = "type" in spec.kind ? [spec.kind] : spec.kind;
  const kindOf = (ref: ResourceRef): ResourceKind => {
    const kind = kinds.find((candidate) => candidate.type === ref.type) ?? kinds[0];
    if (!kind) throw new InvalidControlDataError(`${spec.id} declares no resource kind`);
    return kind;
  };
  const what = (ref: ResourceRef) => `${kindOf(ref).noun} ${ref.id}`;
  const readPlan = (plan: Plan<SettingPlanParams<S>>) => parseControlData(planSchema, plan.params, `plan for ${spec.id}`);

  function violation(
    ref: ResourceRef,
    current: S,
    gap: string,
    options: O,
    context: { confirmed: boolean; tags: TagMap; event: ChangeEvent | undefined },
  ): Verdict {
    const finding: Finding = {
      control: spec.id,
      resource: ref,
      summary: `${capitalise(what(ref))} ${gap}`,
      evidence: { current, required: spec.required(current, options, ref), shortfall: gap },
      confirmed: context.confirmed,
      tags: context.tags,
      ...(context.event ? { event: eventRef(context.event) } : {}),
    };
    return { kind: "violation", finding };
  }

  /** Whether the event alone shows the setting falling short of the policy. */
  function eventBreaksIt(event: ChangeEvent, ref: ResourceRef, options: O): boolean {
    const claimed = spec.fromEvent?.(event, ref, options);
    return claimed !== undefined && spec.shortfall(claimed, options, ref) !== undefined;
  }

  function detectOffline(ref: ResourceRef, event: ChangeEvent | undefined, ctx: ControlContext<O>): Verdict[] {
    if (!event || !spec.fromEvent) return [];
    const current = spec.fromEvent(event, ref, ctx.options);
    if (current === undefined) return [];
    if (spec.covers && !spec.covers({ ref, tags: {}, live: false, event }, ctx)) return [];
    const gap = spec.shortfall(current, ctx.options, ref);
    if (gap === undefined) return [];
    return [violation(ref, current, gap, ctx.options, { confirmed: false, tags: {}, event })];
  }

  /**
   * The setting as detection reads it: once per unit of work. Apply reads the same way, in the scope of the
   * re-check just before it, so the state captured before the change is that re-check's read.
   */
  function readThroughScope(ref: ResourceRef, ctx: LiveContext<O>): Promise<S> {
    return spec.readShared ? spec.readShared(ref, ctx) : ctx.reads.read(`setting:${spec.id}:${ref.arn}`, () => spec.read(ref, ctx));
  }

  async function detectLive(ref: ResourceRef, event: ChangeEvent | undefined, ctx: LiveContext<O>): Promise<Verdict[]> {
    try {
      // Tags decide coverage when the control is scoped; otherwise they are read only for a finding, which needs them.
      const scopingTags = spec.covers ? await kindOf(ref).tags(ref, ctx) : undefined;
      if (spec.covers && !spec.covers({ ref, tags: scopingTags ?? {}, live: true, ...(event ? { event } : {}) }, ctx)) return [];
      const current = await readThroughScope(ref, ctx);
      const gap = spec.shortfall(current, ctx.options, ref);
      if (gap === undefined) {
        if (event && spec.quietUnlessEventBreaksIt && !eventBreaksIt(event, ref, ctx.options)) return [];
        return [{ kind: "no-longer-applies", resource: ref, reason: `${what(ref)} is ${spec.describe(current)}, which meets the policy` }];
      }
      const tags = scopingTags ?? (await kindOf(ref).tags(ref, ctx));
      return [violation(ref, current, gap, ctx.options, { confirmed: true, tags, event })];
    } catch (error) {
      if (isNotFound(error)) return [{ kind: "no-longer-applies", resource: ref, reason: `${what(ref)} no longer exists` }];
      throw error;
    }
  }

  function refuseNotifyOnly(ref: ResourceRef, required: S, options: O, step: string): void {
    const reason = spec.notifyOnly?.(ref, required, options);
    if (reason !== undefined) throw new NotifyOnlyPlanError(`${spec.id} cannot ${step} ${what(ref)}: ${reason}`);
  }

  /** Reads the setting for apply: a resource gone since the finding ends as "no longer applies". */
  async function readForChange(ref: ResourceRef, ctx: LiveContext<O>): Promise<S> {
    try {
      return await readThroughScope(ref, ctx);
    } catch (error) {
      if (isNotFound(error)) throw new ResourceGoneError(`${what(ref)} no longer exists`, { cause: error });
      throw error;
    }
  }

  return defineControl<O, SettingPlanParams<S>>({
    id: spec.id,
    title: spec.title,
    category: spec.category,
    hipaa: spec.hipaa,
    severity: spec.severity,
    ...(spec.defaultMode ? { defaultMode: spec.defaultMode } : {}),
    options: spec.options,
    triggers: spec.triggers,
    permissions: spec.permissions,

    async detect(input, ctx) {
      if (!ctx.aws) return detectOffline(input.resource, input.event, ctx);
      return detectLive(input.resource, input.event, { ...ctx, aws: ctx.aws });
    },

    plan(finding, options): Plan<SettingPlanParams<S>> {
      const ref = finding.resource;
      const current = parseControlData(spec.setting, finding.evidence.current, `evidence of ${spec.id} for ${ref.arn}`);
      const required = spec.required(current, options, ref);
      const reportOnly = spec.notifyOnly?.(ref, required, options);
      if (reportOnly !== undefined) {
        return {
          control: spec.id,
          resource: ref,
          summary: `Report that ${what(ref)} is ${spec.describe(current)}; the engine cannot change it.`,
          steps: [reportOnly, ...(spec.notes?.(ref, required, options) ?? [])],
          reversible: false,
          notifyOnly: true,
          params: { resource: refOf(ref), required },
        };
      }
      return {
        control: spec.id,
        resource: ref,
        summary: spec.summarise?.(ref, required) ?? `Set ${what(ref)} to ${spec.describe(required)}.`,
        steps: [
          `Read the current setting of ${what(ref)} and keep it for rollback.`,
          `Unless it already meets the policy, set it to ${spec.describe(required)} (now ${spec.describe(current)}).`,
          ...(spec.notes?.(ref, required, options) ?? []),
        ],
        reversible: spec.reversible ?? true,
        params: { resource: refOf(ref), required },
      };
    },

    async apply(plan, ctx) {
      const { resource, required } = readPlan(plan);
      refuseNotifyOnly(resource, required, ctx.options, "apply");
      const current = await readForChange(resource, ctx);
      const before = { arn: resource.arn, value: current };
      // Re-checked just now: a resource that meets the policy again keeps its (possibly stronger) setting.
      if (spec.shortfall(current, ctx.options, resource) === undefined) return { before, after: before };
      await spec.write(resource, required, ctx);
      return { before, after: { arn: resource.arn, value: required } };
    },

    async verify(plan, ctx) {
      const { resource } = readPlan(plan);
      try {
        // Afresh, whatever the caller's cache holds: a read cached before the change would verify the old state.
        const current = await spec.read(resource, { ...ctx, reads: new ReadCache() });
        const gap = spec.shortfall(current, ctx.options, resource);
        return {
          ok: gap === undefined,
          state: { arn: resource.arn, value: current },
          ...(gap !== undefined ? { detail: `${what(resource)} ${gap}` } : {}),
        };
      } catch (error) {
        if (!isNotFound(error)) throw error;
        return { ok: false, state: { arn: resource.arn, value: null }, detail: `${what(resource)} no longer exists` };
      }
    },

    async rollback(plan, before, ctx) {
      const { resource, required } = readPlan(plan);
      refuseNotifyOnly(resource, required, ctx.options, "roll back");
      const previous = parseControlData(captured, before, `state captured before ${spec.id} changed ${resource.arn}`);
      if (previous.arn !== resource.arn) {
        throw new InvalidControlDataError(`field arn: captured state is for ${previous.arn}, the plan is for ${resource.arn}`);
      }
      await (spec.restore ?? spec.write)(resource, previous.value, ctx);
    },

    async *sweep(ctx) {
      for (const kind of kinds) yield* kind.list(ctx);
    },
  });
}
