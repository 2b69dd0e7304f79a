import type { ChangeEvent } from "./change-event";

/**
 * What ingestion made of one input record. Every record read yields exactly one result, so
 * `events + ignored + rejected` always equals the number of records read.
 * `source` says where the record came from: `file.json.gz#Records[12]`, `-#line 7`, `sqs:<messageId>`.
 */
export type IngestResult =
  | { kind: "event"; event: ChangeEvent }
  /** A well-formed record that is not a change: a failed call, a non-CloudTrail EventBridge event, a digest file. */
  | { kind: "ignored"; source: string; reason: string; eventId?: string }
  /** Input that could not be used; `reason` names the field path or byte position at fault. */
  | { kind: "rejected"; source: string; reason: string };

/**
 * A change no control listens to, screened out before it was built into a ChangeEvent. Only a reader given a
 * `ListenScreen` yields it, and only for a record that passed every check the full path makes (shape, failed
 * call, value limits, time), so it counts exactly where the event it stands for would: a change, unmatched.
 */
export interface UnmatchedResult {
  kind: "unmatched";
  source: string;
}

/** What a reader given a `ListenScreen` yields: the results of any reader, or a change screened out unbuilt. */
export type ScreenedResult = IngestResult | UnmatchedResult;

/** What a screen reads of a record: the fields control matching reads (`MatchableEvent` in controls/matcher.ts). */
export interface ScreenedCall {
  source: string;
  name: string;
  actor: { type: string };
  eventType: string | undefined;
}

/** True when some control listens to the call, which must then be built into a full ChangeEvent. */
export type ListenScreen = (call: ScreenedCall) => boolean;

export type IgnoredResult = Extract<IngestResult, { kind: "ignored" }>;
export type RejectedResult = Extract<IngestResult, { kind: "rejected" }>;

export function rejected(source: string, reason: string): RejectedResult {
  return { kind: "rejected", source, reason };
}

export function ignored(source: string, reason: string, eventId?: string): IgnoredResult {
  return eventId === undefined ? { kind: "ignored", source, reason } : { kind: "ignored", source, reason, eventId };
}

/**
 * Where a JSON value sits: `source` names it for humans and logs, `path` is its JSON path from the top of
 * the parsed input (`Records[3]`, `[4]`, `body`, or "" for a whole value), used to prefix field paths in reasons.
 */
export interface ValueSite {
  source: string;
  path: string;
}

/** Appends one JSON path segment: `joinPath("Records", 3)` is `Records[3]`, `joinPath("", "detail")` is `detail`. */
export function joinPath(base: string, segment: string | number): string {
  if (typeof segment === "number") return `${base}[${segment}]`;
  const key = /^[A-Za-z_$@][\w$@-]*$/.test(segment) ? segment : JSON.stringify(segment);
  if (key !== segment) return `${base}[${key}]`;
  return base === "" ? key : `${base}.${key}`;
}

/** The site of a value nested inside another: both its JSON path and its human source grow by the segment. */
export function childSite(site: ValueSite, segment: string | number): ValueSite {
  const hash = site.source.indexOf("#");
  const source =
    hash < 0
      ? `${site.source}#${joinPath("", segment)}`
      : `${site.source.slice(0, hash + 1)}${joinPath(site.source.slice(hash + 1), segment)}`;
  return { source, path: joinPath(site.path, segment) };
}

/** `Records[3].eventName: ...` or, for a value at the top of its input, `eventName: ...`. */
export function atPath(path: string, message: string): string {
  return path === "" ? message : `${path}: ${message}`;
}
