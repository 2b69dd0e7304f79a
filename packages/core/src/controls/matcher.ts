import type { ChangeEvent } from "../events/change-event";
import { CLOUDTRAIL_DETAIL_TYPE, CONSOLE_SIGN_IN_DETAIL_TYPE, type CloudTrailDetailType } from "../events/schemas";
import { ANY_EVENT, type AnyControl, type Trigger } from "./contract";

export interface ControlMatch {
  control: AnyControl;
  trigger: Trigger;
}

/** What matching reads of an event. `actor` and `eventType` are optional so a bare source/name pair can be looked up. */
export type MatchableEvent = Pick<ChangeEvent, "source" | "name"> & {
  actor?: { type: string };
  eventType?: string | undefined;
};

function key(source: string, name: string): string {
  return `${source}\u0000${name}`;
}

/** The CloudTrail `eventType` each detail-type delivers. */
const EVENT_TYPE_OF: Readonly<Record<CloudTrailDetailType, string>> = {
  [CLOUDTRAIL_DETAIL_TYPE]: "AwsApiCall",
  [CONSOLE_SIGN_IN_DETAIL_TYPE]: "AwsConsoleSignIn",
};

/** True when an identity trigger's source, name and detail-types admit the event (its actor type already did). */
function identityTriggerFits(trigger: Trigger, event: MatchableEvent): boolean {
  if (trigger.source !== ANY_EVENT && trigger.source !== event.source) return false;
  if (trigger.name !== ANY_EVENT && trigger.name !== event.name) return false;
  // Records without an eventType (trimmed samples) are let through; EventBridge already filtered deployed ones.
  if (event.eventType === undefined) return true;
  const detailTypes = trigger.detailTypes ?? [CLOUDTRAIL_DETAIL_TYPE];
  return detailTypes.some((detailType) => EVENT_TYPE_OF[detailType] === event.eventType);
}

/**
 * Finds the controls whose triggers fit an event. Built once from the registry. Source/name triggers are one map
 * access; identity triggers (e.g. "any event by Root") live in a second map keyed by actor type, so an event
 * consults only the identity triggers of its own actor type. The cost per event does not grow with the number of
 * controls.
 */
export class ControlIndex {
  readonly #byTrigger = new Map<string, ControlMatch[]>();
  readonly #byActorType = new Map<string, ControlMatch[]>();
  /** The names of the source/name triggers by source: `listensTo` asks it for every record, without building a key. */
  readonly #namesBySource = new Map<string, Set<string>>();

  constructor(readonly controls: readonly AnyControl[]) {
    for (const control of controls) {
      for (const trigger of control.triggers) {
        if (trigger.actor) {
          for (const type of trigger.actor.types) append(this.#byActorType, type, { control, trigger });
        } else {
          append(this.#byTrigger, key(trigger.source, trigger.name), { control, trigger });
          const names = this.#namesBySource.get(trigger.source) ?? new Set<string>();
          this.#namesBySource.set(trigger.source, names.add(trigger.name));
        }
      }
    }
  }

  match(event: MatchableEvent): readonly ControlMatch[] {
    const exact = this.#byTrigger.get(key(event.source, event.name)) ?? [];
    const byActor = event.actor ? this.#byActorType.get(event.actor.type) : undefined;
    if (!byActor) return exact;
    const fitting = byActor.filter((match) => identityTriggerFits(match.trigger, event));
    return fitting.length === 0 ? exact : [...exact, ...fitting];
  }

  /** `match(event).length > 0` without building the list: the screen replay reads records through. */
  listensTo(event: MatchableEvent): boolean {
    if (this.#namesBySource.get(event.source)?.has(event.name)) return true;
    const byActor = event.actor ? this.#byActorType.get(event.actor.type) : undefined;
    return byActor !== undefined && byActor.some((match) => identityTriggerFits(match.trigger, event));
  }

  byId(id: string): AnyControl | undefined {
    return this.controls.find((control) => control.id === id);
  }
}

function append(map: Map<string, ControlMatch[]>, mapKey: string, match: ControlMatch): void {
  const list = map.get(mapKey) ?? [];
  list.push(match);
  map.set(mapKey, list);
}
