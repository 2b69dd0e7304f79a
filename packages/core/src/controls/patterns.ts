import { CLOUDTRAIL_DETAIL_TYPE, CLOUDTRAIL_DETAIL_TYPES, isCloudTrailDetailType } from "../events/schemas";
import { ANY_EVENT, type AnyControl, type TriggerKey } from "./contract";

/**
 * EventBridge's "Event pattern size" quota: 2,048 characters per pattern by default, adjustable to 4,096 through
 * Service Quotas (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html). The default is used so
 * that a fresh account accepts every generated rule.
 */
export const DEFAULT_MAX_PATTERN_BYTES = 2048;

/**
 * CloudTrail-delivered events carry `source` "aws.<service>", where <service> is usually the first label of the
 * eventSource host. These are the documented exceptions.
 */
const SOURCE_OVERRIDES: Readonly<Record<string, string>> = {
  "monitoring.amazonaws.com": "aws.cloudwatch",
};

/**
 * Services whose CloudTrail management events are delivered only in us-east-1 (IAM, STS's global endpoint,
 * CloudFront, Route 53, Organizations). A home region elsewhere receives them only through a forwarding rule there.
 */
export const GLOBAL_EVENT_SOURCES: readonly string[] = [
  "cloudfront.amazonaws.com",
  "iam.amazonaws.com",
  "organizations.amazonaws.com",
  "route53.amazonaws.com",
  "sts.amazonaws.com",
];

/** The region where global services publish their CloudTrail events. */
export const GLOBAL_EVENTS_REGION = "us-east-1";

export function isGlobalEventSource(eventSource: string): boolean {
  return GLOBAL_EVENT_SOURCES.includes(eventSource);
}

/** A source/name trigger's EventBridge pattern, exactly as it is put on the rule. */
export interface ServiceEventPattern {
  source: string[];
  "detail-type": string[];
  detail: { eventSource: string[]; eventName: string[] };
}

/**
 * An identity trigger's pattern: events of any service (unless it names one) whose caller's `userIdentity.type` is
 * listed. It has no `source`, so it matches every service, and `detail-type` keeps it to CloudTrail records.
 */
export interface IdentityEventPattern {
  "detail-type": string[];
  detail: { userIdentity: { type: string[] }; eventSource?: string[]; eventName?: string[] };
}

export type CloudTrailEventPattern = ServiceEventPattern | IdentityEventPattern;

export type GeneratedEventPattern =
  | {
      kind: "service";
      /** Stable, readable id for the rule: the service, with a part number when a service needed several patterns. */
      key: string;
      eventSource: string;
      pattern: ServiceEventPattern;
    }
  | {
      kind: "identity";
      /** `actor-<types>`, plus the service when the trigger names one. */
      key: string;
      actorTypes: string[];
      pattern: IdentityEventPattern;
    };

/**
 * Whether the us-east-1 forwarder must forward a pattern's events to a home region elsewhere: global services'
 * events are delivered only there, and so are root console sign-ins and root calls to global services, which an
 * identity pattern (any service) must not miss.
 */
export function forwardedFromGlobalRegion(generated: GeneratedEventPattern): boolean {
  return generated.kind === "identity" || isGlobalEventSource(generated.eventSource);
}

export interface EventPatternOptions {
  /** Measured in UTF-8 bytes, which are never fewer than the characters the quota counts. */
  maxPatternBytes?: number;
}

export class EventPatternError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EventPatternError";
  }
}

const EVENT_SOURCE = /^([a-z0-9-]+)(\.[a-z0-9-]+)*\.amazonaws\.com$/;
const EVENT_NAME = /^[A-Za-z0-9]+$/;
/** `userIdentity.type` values: Root, IAMUser, AssumedRole, AWSService, ... */
const ACTOR_TYPE = /^[A-Za-z]+$/;

type TriggerSource = Pick<AnyControl, "id"> & { readonly triggers: readonly TriggerKey[] };

/** `s3.amazonaws.com` -> `aws.s3`. */
export function eventBridgeSourceOf(eventSource: string): string {
  const override = SOURCE_OVERRIDES[eventSource];
  if (override !== undefined) return override;
  const service = EVENT_SOURCE.exec(eventSource)?.[1];
  if (service === undefined) throw new EventPatternError(`"${eventSource}" is not an AWS eventSource (expected <service>.amazonaws.com)`);
  return `aws.${service}`;
}

/** Checks one trigger's fields; the error names the control, the trigger and the field. */
function validateTrigger(trigger: TriggerKey, field: string): void {
  const wildcardAllowed = trigger.actor !== undefined;
  const anyOr = (value: string) => wildcardAllowed && value === ANY_EVENT;
  if (!anyOr(trigger.source) && !EVENT_SOURCE.test(trigger.source)) {
    const hint = trigger.source === ANY_EVENT ? ` ("${ANY_EVENT}" needs an actor condition)` : " (expected <service>.amazonaws.com)";
    throw new EventPatternError(`${field}.source: "${trigger.source}" is not an AWS eventSource${hint}`);
  }
  if (!anyOr(trigger.name) && !EVENT_NAME.test(trigger.name)) {
    const hint = trigger.name === ANY_EVENT ? ` ("${ANY_EVENT}" needs an actor condition)` : " (letters and digits only)";
    throw new EventPatternError(`${field}.name: "${trigger.name}" is not a CloudTrail eventName${hint}`);
  }
  if (trigger.actor) {
    if (trigger.actor.types.length === 0) throw new EventPatternError(`${field}.actor.types: names no identity type`);
    trigger.actor.types.forEach((type, at) => {
      if (!ACTOR_TYPE.test(type))
        throw new EventPatternError(`${field}.actor.types[${at}]: "${type}" is not a userIdentity type (letters only)`);
    });
  }
  if (trigger.detailTypes !== undefined) {
    if (!trigger.actor) throw new EventPatternError(`${field}.detailTypes: only identity triggers (with an actor) choose detail-types`);
    if (trigger.detailTypes.length === 0) throw new EventPatternError(`${field}.detailTypes: names no detail-type`);
    trigger.detailTypes.forEach((detailType, at) => {
      if (!isCloudTrailDetailType(detailType)) {
        throw new EventPatternError(
          `${field}.detailTypes[${at}]: "${String(detailType)}" is not one of ${CLOUDTRAIL_DETAIL_TYPES.join(", ")}`,
        );
      }
    });
  }
}

/** Every trigger of the registry, validated, with the field path errors name. */
function validatedTriggers(controls: readonly TriggerSource[]): TriggerKey[] {
  return controls.flatMap((control) =>
    control.triggers.map((trigger, index) => {
      validateTrigger(trigger, `controls[${control.id}].triggers[${index}]`);
      return trigger;
    }),
  );
}

/** The registry's source/name triggers, validated and grouped: eventSource -> sorted, distinct event names. */
export function triggersBySource(controls: readonly TriggerSource[]): Map<string, string[]> {
  const grouped = new Map<string, Set<string>>();
  for (const trigger of validatedTriggers(controls)) {
    if (trigger.actor) continue;
    const names = grouped.get(trigger.source) ?? new Set<string>();
    names.add(trigger.name);
    grouped.set(trigger.source, names);
  }
  return sortedGroups(grouped);
}

function sortedGroups(grouped: Map<string, Set<string>>): Map<string, string[]> {
  return new Map([...grouped.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([group, names]) => [group, [...names].sort()]));
}

interface IdentityGroup {
  actorTypes: string[];
  detailTypes: string[];
  source: string;
}

/** Identity triggers grouped by (actor types, detail-types, source), each with its sorted, distinct event names. */
function identityGroups(controls: readonly TriggerSource[]): { group: IdentityGroup; names: string[] }[] {
  const groups = new Map<string, IdentityGroup>();
  const names = new Map<string, Set<string>>();
  for (const trigger of validatedTriggers(controls)) {
    if (!trigger.actor) continue;
    const group: IdentityGroup = {
      actorTypes: [...new Set(trigger.actor.types)].sort(),
      detailTypes: [...new Set(trigger.detailTypes ?? [CLOUDTRAIL_DETAIL_TYPE])].sort(),
      source: trigger.source,
    };
    const id = JSON.stringify(group);
    groups.set(id, group);
    names.set(id, (names.get(id) ?? new Set<string>()).add(trigger.name));
  }
  return [...sortedGroups(names).entries()].map(([id, groupNames]) => ({ group: groups.get(id) as IdentityGroup, names: groupNames }));
}

function identityPatternFor(group: IdentityGroup, names: string[]): IdentityEventPattern {
  return {
    "detail-type": group.detailTypes,
    detail: {
      userIdentity: { type: group.actorTypes },
      ...(group.source === ANY_EVENT ? {} : { eventSource: [group.source] }),
      ...(names.includes(ANY_EVENT) ? {} : { eventName: names }),
    },
  };
}

function identityKey(group: IdentityGroup): string {
  const types = group.actorTypes.join("-").toLowerCase();
  return group.source === ANY_EVENT ? `actor-${types}` : `actor-${types}-${eventBridgeSourceOf(group.source).slice("aws.".length)}`;
}

function patternFor(eventSource: string, names: string[]): ServiceEventPattern {
  return {
    source: [eventBridgeSourceOf(eventSource)],
    "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
    detail: { eventSource: [eventSource], eventName: names },
  };
}

export function patternSize(pattern: CloudTrailEventPattern): number {
  return new TextEncoder().encode(JSON.stringify(pattern)).length;
}

/** Fills each pattern with as many event names as fit, in order. */
function splitToFit(eventSource: string, names: string[], maxBytes: number): string[][] {
  const parts: string[][] = [];
  let current: string[] = [];
  for (const name of names) {
    const candidate = [...current, name];
    if (patternSize(patternFor(eventSource, candidate)) <= maxBytes) {
      current = candidate;
      continue;
    }
    if (current.length === 0) {
      throw new EventPatternError(`The pattern for ${eventSource} event ${name} alone exceeds ${maxBytes} bytes`);
    }
    parts.push(current);
    current = [name];
    if (patternSize(patternFor(eventSource, current)) > maxBytes) {
      throw new EventPatternError(`The pattern for ${eventSource} event ${name} alone exceeds ${maxBytes} bytes`);
    }
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

/**
 * The EventBridge patterns that deliver exactly the registry's triggers: one pattern per eventSource (so no
 * source is ever paired with another source's event names), split into several when one would exceed the
 * pattern size quota; then one pattern per identity trigger group (e.g. any event by Root), which matches on
 * `userIdentity.type` and so lets through no event of another caller. Deterministic: sources and names are
 * sorted, so synthesised templates do not churn.
 */
export function eventPatternsFor(controls: readonly TriggerSource[], options: EventPatternOptions = {}): GeneratedEventPattern[] {
  const maxBytes = options.maxPatternBytes ?? DEFAULT_MAX_PATTERN_BYTES;
  const patterns: GeneratedEventPattern[] = [];
  for (const [eventSource, names] of triggersBySource(controls)) {
    const service = eventBridgeSourceOf(eventSource).slice("aws.".length);
    const parts = splitToFit(eventSource, names, maxBytes);
    parts.forEach((part, index) => {
      patterns.push({
        kind: "service",
        key: parts.length === 1 ? service : `${service}-part${index + 1}`,
        eventSource,
        pattern: patternFor(eventSource, part),
      });
    });
  }
  identityGroups(controls).forEach(({ group, names }, index, groups) => {
    const pattern = identityPatternFor(group, names);
    if (patternSize(pattern) > maxBytes) {
      throw new EventPatternError(`The identity pattern for ${group.actorTypes.join(", ")} exceeds ${maxBytes} bytes`);
    }
    const key = identityKey(group);
    // Two groups differ only in detail-types: number them so rule ids stay unique.
    const shared = groups.filter((other) => identityKey(other.group) === key).length > 1;
    patterns.push({ kind: "identity", key: shared ? `${key}-${index + 1}` : key, actorTypes: group.actorTypes, pattern });
  });
  return patterns;
}
