import { canonicalJson, isJsonObject, sha256Hex, type JsonObject } from "../support/json";
import type { Actor } from "./change-event";
import { describeIssues, jsonTypeOf } from "./describe-issues";
import { atPath, ignored, joinPath, rejected, type IngestResult, type ValueSite } from "./ingest-result";
import type { ListenScreen, ScreenedResult } from "./ingest-result";
import { accountIdText, isObjectValue, isoTime, readOnlyFlag, text } from "./record-fields";
import { PLACEHOLDER, cloudTrailRecordSchema, eventBridgeEnvelopeSchema, isCloudTrailDetailType, type CloudTrailRecord } from "./schemas";
import { describeValueBeyondLimits, findValueBeyondLimits, limitPath } from "./value-limits";

/** What an EventBridge envelope can supply when its CloudTrail record lacks a field. */
interface EnvelopeFallbacks {
  account?: string;
  region?: string;
  time?: string;
  /** The engine's own re-check marker (`RECHECK_FIELD`), when the engine re-delivered the envelope to itself. */
  recheck?: number;
}

/** Top-level envelope field carrying the re-check pass of an event the engine re-delivered to itself. */
export const RECHECK_FIELD = "hipaaRemediateRecheck";

/** A positive whole pass number, or undefined: anything else in the field is not the engine's marker. */
function recheckPassOf(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Insights events share the record shape but have no eventName: they describe activity, they are not calls. */
const INSIGHT_EVENT_TYPE = "AwsCloudTrailInsight";

const NO_ENVELOPE: EnvelopeFallbacks = Object.freeze({});

function isNullableText(value: unknown): boolean {
  return value === undefined || value === null || typeof value === "string";
}

function isNullableAccountId(value: unknown): boolean {
  return isNullableText(value) || typeof value === "number";
}

function isCallName(value: unknown): boolean {
  return typeof value === "string" && value !== "" && value !== PLACEHOLDER;
}

function isNullableObject(value: unknown): boolean {
  return value === undefined || value === null || isObjectValue(value);
}

function hasIdentityShape(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (!isObjectValue(value)) return false;
  const context = value.sessionContext;
  return (
    isNullableText(value.type) &&
    isNullableText(value.arn) &&
    isNullableText(value.principalId) &&
    isNullableAccountId(value.accountId) &&
    isNullableText(value.userName) &&
    isNullableText(value.invokedBy) &&
    (context === undefined ||
      context === null ||
      (isObjectValue(context) &&
        (context.sessionIssuer === undefined ||
          context.sessionIssuer === null ||
          (isObjectValue(context.sessionIssuer) && isNullableText(context.sessionIssuer.arn)))))
  );
}

/**
 * The hot-path twin of `cloudTrailRecordSchema`: true exactly when the schema would accept the record unchanged
 * (no placeholder identity, no JSON-encoded parameters to decode). Records it turns down go through the schema,
 * which either repairs them or names the field at fault, so the schema stays the single authority.
 */
export function hasCloudTrailRecordShape(raw: Record<string, unknown>): raw is CloudTrailRecord {
  return (
    isCallName(raw.eventName) &&
    isCallName(raw.eventSource) &&
    isNullableText(raw.eventTime) &&
    isNullableText(raw.eventID) &&
    isNullableText(raw.awsRegion) &&
    isNullableAccountId(raw.recipientAccountId) &&
    hasIdentityShape(raw.userIdentity) &&
    isNullableObject(raw.requestParameters) &&
    isNullableObject(raw.responseElements) &&
    isNullableText(raw.errorCode) &&
    isNullableText(raw.eventType)
  );
}

/** The actor type controls with identity triggers match on; "Unknown" when the record names none. */
function actorTypeOf(record: CloudTrailRecord): string {
  return (record.userIdentity && text(record.userIdentity.type)) ?? "Unknown";
}

function actorOf(record: CloudTrailRecord): Actor {
  const identity = record.userIdentity;
  const userAgent = text(record.userAgent);
  const sourceIp = text(record.sourceIPAddress);
  if (!identity) return { type: "Unknown", userAgent, sourceIp };
  return {
    type: actorTypeOf(record),
    arn: text(identity.arn),
    principalId: text(identity.principalId),
    accountId: accountIdText(identity.accountId),
    userName: text(identity.userName),
    issuerArn: text(identity.sessionContext?.sessionIssuer?.arn),
    invokedBy: text(identity.invokedBy),
    ...mfaAuthenticatedOf(identity.sessionContext),
    userAgent,
    sourceIp,
  };
}

/** CloudTrail writes `mfaAuthenticated` as the string "true" or "false"; anything else is left out. */
function mfaAuthenticatedOf(context: unknown): { mfaAuthenticated?: boolean } {
  if (!isObjectValue(context) || !isObjectValue(context.attributes)) return {};
  const flag = context.attributes.mfaAuthenticated;
  if (flag === "true" || flag === true) return { mfaAuthenticated: true };
  if (flag === "false" || flag === false) return { mfaAuthenticated: false };
  return {};
}

function parameters(value: unknown): JsonObject | null {
  return isJsonObject(value) ? value : null;
}

/** `additionalEventData` when it is an object (a sign-in's `MFAUsed`, for example); absent otherwise. */
function additionalOf(record: CloudTrailRecord): { additional?: JsonObject } {
  const additional = record.additionalEventData;
  return isJsonObject(additional) ? { additional } : {};
}

/**
 * A stable id for records that lack `eventID` (some exports drop it): the same record always gets the same id,
 * so replaying it twice is still idempotent.
 */
function derivedEventId(record: CloudTrailRecord): string {
  return `derived-${sha256Hex(canonicalJson(record)).slice(0, 32)}`;
}

/**
 * A rejection naming where `raw` holds a value nothing downstream can carry (see value-limits.ts), or undefined.
 * Hashing, logging and controls walk what goes further, and would fail on such values.
 */
function beyondLimitsAt(raw: Record<string, unknown>, site: ValueSite): IngestResult | undefined {
  const beyondLimits = findValueBeyondLimits(raw);
  if (!beyondLimits) return undefined;
  return rejected(site.source, atPath(limitPath(site.path, beyondLimits.segments), describeValueBeyondLimits(beyondLimits)));
}

/** True when a screen was given and no control listens to the record: it need not be built into an event. */
function screenedOut(record: CloudTrailRecord, listens: ListenScreen | undefined): boolean {
  if (listens === undefined) return false;
  return !listens({
    source: record.eventSource,
    name: record.eventName,
    actor: { type: actorTypeOf(record) },
    eventType: text(record.eventType),
  });
}

/**
 * `limitsChecked`: the caller already walked the record (inside its envelope). `listens`: a record no control
 * listens to ends as `unmatched` once every check that could reject or ignore it has passed, unbuilt.
 */
function fromRecord(
  raw: Record<string, unknown>,
  site: ValueSite,
  envelope: EnvelopeFallbacks,
  limitsChecked: boolean,
  listens: ListenScreen | undefined,
): ScreenedResult {
  if (raw.eventType === INSIGHT_EVENT_TYPE) {
    return ignored(site.source, "CloudTrail Insights event: a summary of unusual API activity, not an API call", text(raw.eventID));
  }
  let record: CloudTrailRecord;
  if (hasCloudTrailRecordShape(raw)) {
    record = raw;
  } else {
    const parsed = cloudTrailRecordSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) return rejected(site.source, describeIssues(parsed.error.issues, site.path));
    record = parsed.data;
  }

  const eventId = text(record.eventID);
  const errorCode = text(record.errorCode);
  if (errorCode !== undefined) {
    return ignored(site.source, `failed call (${errorCode.slice(0, 100)}): not a change`, eventId);
  }
  // Only a record that goes further is walked: an ignored one keeps its source, reason and id, nothing of its body.
  const beyondLimits = limitsChecked ? undefined : beyondLimitsAt(raw, site);
  if (beyondLimits) return beyondLimits;

  // Logstash-shipped captures replace eventTime with @timestamp; it is the same instant.
  const time = isoTime(record.eventTime) ?? envelope.time ?? isoTime(record["@timestamp"]);
  if (time === undefined) {
    const found = record.eventTime === undefined || record.eventTime === null ? "missing" : "not a timestamp";
    return rejected(
      site.source,
      atPath(
        joinPath(site.path, "eventTime"),
        `${found}, and there is no envelope time or @timestamp to use instead: a change needs a time`,
      ),
    );
  }

  // Everything that could reject or ignore the record is behind us: what remains only builds the event.
  if (screenedOut(record, listens)) return { kind: "unmatched", source: site.source };

  const actor = actorOf(record);
  return {
    kind: "event",
    event: {
      id: eventId ?? derivedEventId(record),
      time,
      account: accountIdText(record.recipientAccountId) ?? actor.accountId ?? envelope.account ?? "unknown",
      region: text(record.awsRegion) ?? envelope.region ?? "unknown",
      actor,
      source: record.eventSource,
      name: record.eventName,
      request: parameters(record.requestParameters),
      response: parameters(record.responseElements),
      readOnly: readOnlyFlag(record.readOnly),
      eventType: text(record.eventType),
      ...additionalOf(record),
      origin: site.source,
      ...(envelope.recheck !== undefined ? { recheck: envelope.recheck } : {}),
    },
  };
}

const tolerantEnvelopeSchema = eventBridgeEnvelopeSchema.extend({
  "detail-type": eventBridgeEnvelopeSchema.shape["detail-type"].nullish(),
});

/** True for objects shaped like an EventBridge event rather than a bare CloudTrail record. */
export function looksLikeEnvelope(value: Record<string, unknown>): boolean {
  return "detail-type" in value || ("detail" in value && !("eventName" in value));
}

function fromEnvelope(raw: Record<string, unknown>, site: ValueSite, listens: ListenScreen | undefined): ScreenedResult {
  const detailType = raw["detail-type"];
  // API calls and console sign-ins both carry a CloudTrail record; every other detail-type is someone else's event.
  if (typeof detailType === "string" && !isCloudTrailDetailType(detailType) && detailType !== PLACEHOLDER) {
    return ignored(
      site.source,
      `EventBridge event of detail-type "${detailType.slice(0, 100)}" is not a CloudTrail API call or console sign-in`,
    );
  }
  const parsed = tolerantEnvelopeSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return rejected(site.source, describeIssues(parsed.error.issues, site.path));
  const envelope = parsed.data;
  // Hand-written samples put "..." in detail-type; the detail itself shows whether it is an API call.
  if (!isCloudTrailDetailType(envelope["detail-type"]) && !("eventName" in envelope.detail)) {
    return ignored(site.source, "EventBridge event without a detail-type and without a CloudTrail record in detail");
  }
  return fromRecord(
    envelope.detail,
    { source: site.source, path: joinPath(site.path, "detail") },
    {
      account: accountIdText(envelope.account),
      region: text(envelope.region),
      time: isoTime(envelope.time),
      recheck: recheckPassOf(raw[RECHECK_FIELD]),
    },
    true,
    listens,
  );
}

/**
 * Normalises a record or an EventBridge envelope found at `site`. Given a `listens` screen, a change no control
 * listens to is `unmatched` rather than built; without one, the result is never `unmatched`.
 */
export function normaliseAt(raw: unknown, site: ValueSite): IngestResult;
export function normaliseAt(raw: unknown, site: ValueSite, listens: ListenScreen | undefined): ScreenedResult;
export function normaliseAt(raw: unknown, site: ValueSite, listens?: ListenScreen): ScreenedResult {
  if (!isObjectValue(raw)) {
    return rejected(
      site.source,
      atPath(site.path, `expected a CloudTrail record or EventBridge envelope (an object), got ${jsonTypeOf(raw)}`),
    );
  }
  // An envelope is walked whole before anything reads it; a bare record once it is known to go further.
  if (!looksLikeEnvelope(raw)) return fromRecord(raw, site, NO_ENVELOPE, false, listens);
  return beyondLimitsAt(raw, site) ?? fromEnvelope(raw, site, listens);
}

/**
 * Turns one CloudTrail record, or one EventBridge envelope around it, into a ChangeEvent. A failed call
 * (`errorCode` set) is `ignored`: it changed nothing. Unusable input is `rejected` with the field path at fault.
 * `origin` names where the record came from and becomes the event's `origin`.
 */
export function normaliseRecord(raw: unknown, origin: string): IngestResult {
  return normaliseAt(raw, { source: origin, path: "" });
}
