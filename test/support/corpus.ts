import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { ANY_EVENT, normaliseRecord, type ChangeEvent, type TriggerKey } from "@hipaa-remediate/core";

/**
 * The public CloudTrail corpus beside the repository (../shared/corpus): real captures and other projects'
 * fixtures. Tests read it in place and never copy it. Control tests use it to prove that real records of their
 * triggers produce the right finding offline.
 */
export const CORPUS_DIR = resolve(import.meta.dirname, "../../../shared/corpus");

export function corpusAvailable(): boolean {
  return existsSync(CORPUS_DIR);
}

/** One CloudTrail record of the corpus as its file holds it, and where it was found. */
export interface CorpusRecord {
  origin: string;
  record: Record<string, unknown>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every CloudTrail record inside a parsed value: bare, in `Records`, in an EventBridge `detail`, in arrays. */
function recordsIn(value: unknown, origin: string, into: CorpusRecord[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => recordsIn(item, `${origin}[${index}]`, into));
    return;
  }
  if (!isObject(value)) return;
  if (typeof value.eventName === "string" && typeof value.eventSource === "string") {
    into.push({ origin, record: value });
    return;
  }
  if (Array.isArray(value.Records)) recordsIn(value.Records, `${origin}.Records`, into);
  if (isObject(value.detail)) recordsIn(value.detail, `${origin}.detail`, into);
}

function parsedValues(text: string): unknown[] {
  try {
    return [JSON.parse(text)];
  } catch {
    const values: unknown[] = [];
    for (const line of text.split("\n")) {
      try {
        values.push(JSON.parse(line));
      } catch {
        // Not JSON lines either (YAML, a malformed upstream file): the reader's own corpus test covers those.
      }
    }
    return values;
  }
}

let everyRecord: CorpusRecord[] | undefined;

/** Every CloudTrail record of the corpus's JSON and JSON-lines files (plain or gzip), read once per test process. */
export function corpusRecords(): CorpusRecord[] {
  if (everyRecord) return everyRecord;
  const found: CorpusRecord[] = [];
  const files = readdirSync(CORPUS_DIR, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  for (const entry of files) {
    const path = join(entry.parentPath, entry.name);
    if (!/\.(json|jsonl|gz)$/.test(entry.name)) continue;
    let bytes = readFileSync(path);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    const origin = path.slice(CORPUS_DIR.length + 1);
    parsedValues(bytes.toString("utf8")).forEach((value, index) => recordsIn(value, `${origin}#${index}`, found));
  }
  everyRecord = found;
  return found;
}

/**
 * The corpus records of one trigger (for an identity trigger: those of its actor types), successful calls only (a failed call is not a change; see
 * test/unit/corpus-failed-calls.test.ts), and the same record may appear in several files.
 */
export function corpusRecordsFor(trigger: TriggerKey): CorpusRecord[] {
  // A wildcard takes any real name; the placeholder "..." is rejected by ingestion (the reader's corpus test covers it).
  const fits = (wanted: string, value: unknown) =>
    wanted === value || (trigger.actor !== undefined && wanted === ANY_EVENT && typeof value === "string" && value !== "...");
  return corpusRecords().filter(({ record }) => {
    if (!fits(trigger.source, record.eventSource) || !fits(trigger.name, record.eventName) || record.errorCode !== undefined) return false;
    if (!trigger.actor) return true;
    const identity = record.userIdentity;
    return isObject(identity) && typeof identity.type === "string" && trigger.actor.types.includes(identity.type);
  });
}

/**
 * A corpus record as the engine's ingestion turns it into a ChangeEvent. Detection-rule fixtures are often trimmed
 * of their `eventTime` or redact it as "...", which ingestion rightly refuses; those get a fixed time here, and
 * nothing else changes.
 */
export function corpusEventOf({ origin, record }: CorpusRecord): ChangeEvent {
  const hasTime = typeof record.eventTime === "string" && !Number.isNaN(Date.parse(record.eventTime));
  const timed = hasTime ? record : { ...record, eventTime: "2024-01-01T00:00:00Z" };
  const result = normaliseRecord(timed, origin);
  if (result.kind !== "event") throw new Error(`corpus record ${origin} was not normalised: ${JSON.stringify(result)}`);
  return result.event;
}

/** The corpus events of one trigger (see `corpusRecordsFor`). */
export function corpusEventsFor(trigger: TriggerKey): ChangeEvent[] {
  return corpusRecordsFor(trigger).map(corpusEventOf);
}
