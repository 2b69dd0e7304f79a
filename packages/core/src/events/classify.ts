import { describeIssues, jsonTypeOf } from "./describe-issues";
import { atPath, childSite, ignored, rejected, type IngestResult, type ValueSite } from "./ingest-result";
import type { ListenScreen, ScreenedResult } from "./ingest-result";
import { looksLikeEnvelope, normaliseAt } from "./normalise";
import { isObjectValue } from "./record-fields";
import { cloudTrailLogFileSchema } from "./schemas";
import { looksLikeSqsRecord, parseSqsRecordAt } from "./sqs";
import { MAX_NESTING_DEPTH, limitPath } from "./value-limits";

export const DIGEST_REASON = "CloudTrail digest file: integrity data about log files, not events";

/** A CloudTrail record, maybe a broken one (the normaliser names what is wrong). SQS records also have eventSource. */
function looksLikeRecord(value: Record<string, unknown>): boolean {
  return "eventName" in value || (("eventSource" in value || "eventVersion" in value) && !looksLikeSqsRecord(value));
}

function looksLikeDigest(value: Record<string, unknown>): boolean {
  return "digestStartTime" in value && "digestEndTime" in value;
}

function describeUnknownObject(value: Record<string, unknown>): string {
  const keys = Object.keys(value);
  const listed = keys.slice(0, 6).join(", ") + (keys.length > 6 ? ", …" : "");
  return `not a CloudTrail record, EventBridge envelope or CloudTrail log file: no eventName, detail-type or Records key (keys: ${listed || "none"})`;
}

/** The elements a value nests records in: an array's, or a log file's `Records` (a record is never a log file). */
function nestedElements(value: unknown): readonly unknown[] | undefined {
  if (Array.isArray(value)) return value as unknown[];
  if (isObjectValue(value) && !looksLikeRecord(value) && Array.isArray(value.Records)) return value.Records as unknown[];
  return undefined;
}

/**
 * Where arrays and log files inside `value` nest deeper than MAX_NESTING_DEPTH, found without recursion, so that
 * such a value is one unusable input rather than a stack overflow in the recursive walk below.
 */
function nestTooDeep(value: unknown): (string | number)[] | undefined {
  // A record or an envelope, what nearly every value is, nests nothing: no walk, nothing allocated.
  if (nestedElements(value) === undefined) return undefined;
  const stack: { value: unknown; segments: (string | number)[] }[] = [{ value, segments: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const elements = nestedElements(item.value);
    if (elements === undefined) continue;
    if (item.segments.length >= MAX_NESTING_DEPTH) return item.segments;
    const prefix = Array.isArray(item.value) ? item.segments : [...item.segments, "Records"];
    elements.forEach((element, index) => {
      if (nestedElements(element) !== undefined) stack.push({ value: element, segments: [...prefix, index] });
    });
  }
  return undefined;
}

/**
 * Appends the results for one parsed JSON value of any accepted shape: a record, an envelope, a log file
 * (`{"Records": [...]}`), an SQS record, or an array of any of these. Each record inside gets exactly one result.
 * Given a `listens` screen, a change no control listens to is appended as `unmatched`, unbuilt.
 */
export function ingestValueAt(value: unknown, site: ValueSite, out: IngestResult[]): void;
export function ingestValueAt(value: unknown, site: ValueSite, out: ScreenedResult[], listens: ListenScreen | undefined): void;
export function ingestValueAt(value: unknown, site: ValueSite, out: ScreenedResult[], listens?: ListenScreen): void {
  const tooDeep = nestTooDeep(value);
  if (tooDeep) {
    const where = limitPath(site.path, tooDeep);
    out.push(rejected(site.source, atPath(where, `arrays or log files nested more than ${MAX_NESTING_DEPTH} levels deep`)));
    return;
  }
  ingestNested(value, site, out, listens);
}

function ingestNested(value: unknown, site: ValueSite, out: ScreenedResult[], listens: ListenScreen | undefined): void {
  if (Array.isArray(value)) {
    // Where a record was expected, an empty array is an input unit that holds nothing: one rejection, not silence.
    if (value.length === 0 && site.path !== "") {
      out.push(rejected(site.source, atPath(site.path, "expected a record, got an empty array")));
      return;
    }
    value.forEach((element, index) => ingestNested(element, childSite(site, index), out, listens));
    return;
  }
  if (!isObjectValue(value)) {
    out.push(rejected(site.source, atPath(site.path, `expected an object, got ${jsonTypeOf(value)}`)));
    return;
  }
  if (looksLikeRecord(value)) {
    out.push(normaliseAt(value, site, listens));
  } else if ("Records" in value) {
    const file = cloudTrailLogFileSchema.safeParse(value, { reportInput: true });
    if (!file.success) {
      out.push(rejected(site.source, describeIssues(file.error.issues, site.path)));
      return;
    }
    const records = childSite(site, "Records");
    file.data.Records.forEach((element, index) => ingestNested(element, childSite(records, index), out, listens));
  } else if (looksLikeSqsRecord(value)) {
    out.push(parseSqsRecordAt(value, site));
  } else if (looksLikeDigest(value)) {
    out.push(ignored(site.source, DIGEST_REASON));
  } else if (looksLikeEnvelope(value)) {
    out.push(normaliseAt(value, site, listens));
  } else {
    out.push(rejected(site.source, atPath(site.path, describeUnknownObject(value))));
  }
}

/** Every result for one parsed JSON value; `origin` names where it came from. */
export function ingestValue(value: unknown, origin: string): IngestResult[] {
  const out: IngestResult[] = [];
  ingestValueAt(value, { source: origin, path: "" }, out);
  return out;
}
