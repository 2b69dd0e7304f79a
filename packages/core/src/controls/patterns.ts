import { CLOUDTRAIL_DETAIL_TYPE } from "../events/schemas";
import type { AnyControl, TriggerKey } from "./contract";

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

/** One EventBridge event pattern, exactly as it is put on the rule. */
export interface CloudTrailEventPattern {
  source: string[];
  "detail-type": string[];
  detail: { eventSource: string[]; eventName: string[] };
}

export interface GeneratedEventPattern {
  /** Stable, readable id for the rule: the service, with a part number when a service needed several patterns. */
  key: string;
  eventSource: string;
  pattern: CloudTrailEventPattern;
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

type TriggerSource = Pick<AnyControl, "id"> & { readonly triggers: readonly TriggerKey[] };

/** `s3.amazonaws.com` -> `aws.s3`. */
export function eventBridgeSourceOf(eventSource: string): string {
  const override = SOURCE_OVERRIDES[eventSource];
  if (override !== undefined) return override;
  const service = EVENT_SOURCE.exec(eventSource)?.[1];
  if (service === undefined) throw new EventPatternError(`"${eventSource}" is not an AWS eventSource (expected <service>.amazonaws.com)`);
  return `aws.${service}`;
}

/** The registry's triggers, validated and grouped: eventSource -> sorted, distinct event names. */
export function triggersBySource(controls: readonly TriggerSource[]): Map<string, string[]> {
  const grouped = new Map<string, Set<string>>();
  for (const control of controls) {
    control.triggers.forEach((trigger, index) => {
      const field = `controls[${control.id}].triggers[${index}]`;
      if (!EVENT_SOURCE.test(trigger.source)) {
        throw new EventPatternError(`${field}.source: "${trigger.source}" is not an AWS eventSource (expected <service>.amazonaws.com)`);
      }
      if (!EVENT_NAME.test(trigger.name)) {
        throw new EventPatternError(`${field}.name: "${trigger.name}" is not a CloudTrail eventName (letters and digits only)`);
      }
      const names = grouped.get(trigger.source) ?? new Set<string>();
      names.add(trigger.name);
      grouped.set(trigger.source, names);
    });
  }
  return new Map([...grouped.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([source, names]) => [source, [...names].sort()]));
}

function patternFor(eventSource: string, names: string[]): CloudTrailEventPattern {
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
 * pattern size quota. Deterministic: sources and names are sorted, so synthesised templates do not churn.
 */
export function eventPatternsFor(controls: readonly TriggerSource[], options: EventPatternOptions = {}): GeneratedEventPattern[] {
  const maxBytes = options.maxPatternBytes ?? DEFAULT_MAX_PATTERN_BYTES;
  const patterns: GeneratedEventPattern[] = [];
  for (const [eventSource, names] of triggersBySource(controls)) {
    const service = eventBridgeSourceOf(eventSource).slice("aws.".length);
    const parts = splitToFit(eventSource, names, maxBytes);
    parts.forEach((part, index) => {
      patterns.push({
        key: parts.length === 1 ? service : `${service}-part${index + 1}`,
        eventSource,
        pattern: patternFor(eventSource, part),
      });
    });
  }
  return patterns;
}
