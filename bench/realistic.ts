import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { ControlIndex, normaliseRecord } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { DATA_DIR, hex, pick, prng, uuid, type LogSetManifest } from "./generate";

/**
 * A realistic log set, shaped on the real records of the shared corpus (read at bench time, never copied into the
 * repository): most calls are reads (Describe/List/Get), a handful trigger a control, and about a third of the
 * files arrive gzipped, as CloudTrail delivers them. Each generated record is a corpus record with fresh ids,
 * time, account and region, so its fields, nesting and failed-call share are those of real traffic.
 */

export const CORPUS_DIR = process.env.HIPAA_BENCH_CORPUS ?? "/work/shared/corpus";

export interface RealisticSpec {
  totalBytes: number;
  seed: number;
  /** Share of records that are read-only calls (Describe/List/Get), failed or not. */
  readShare: number;
  /** Share of records that a control listens to (successful, not read-only). */
  triggerShare: number;
  /** Share of files written gzipped. */
  gzipShare: number;
  /** Average size of one uncompressed file. */
  meanFileBytes: number;
}

export interface RealisticManifest extends LogSetManifest {
  realistic: RealisticSpec;
  /** Records written per pool, and how many of them are failed calls. */
  pools: { read: number; trigger: number; other: number; failed: number };
  gzipped: number;
  /** The templates drawn from the corpus. */
  templates: { read: number; trigger: number; other: number };
}

/** The realistic set: 320 MB in 116 files, 37 of them gzipped, 87% reads, 0.5% control triggers. */
export function realisticSpec(totalBytes: number, seed: number): RealisticSpec {
  return { totalBytes, seed, readShare: 0.87, triggerShare: 0.005, gzipShare: 37 / 116, meanFileBytes: (320 * (1 << 20)) / 116 };
}

const GENERATOR_VERSION = 1;
const ACCOUNTS = ["123456789012", "210987654321", "111122223333"];
const REGIONS = ["us-east-1", "us-west-2", "eu-west-1"];
const START_TIME = Date.UTC(2024, 5, 1, 0, 0, 0);
const READ_CALL = /^(Describe|List|Get)/;

type RawRecord = Record<string, unknown>;

function isObject(value: unknown): value is RawRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every CloudTrail record in a parsed corpus value: bare, in `Records`, in an envelope's `detail`, or in arrays. */
function collectRecords(value: unknown, out: RawRecord[]): void {
  if (Array.isArray(value)) {
    for (const element of value) collectRecords(element, out);
  } else if (isObject(value)) {
    if (typeof value.eventName === "string" && typeof value.eventSource === "string") out.push(value);
    else if (Array.isArray(value.Records)) collectRecords(value.Records, out);
    else if (isObject(value.detail)) collectRecords(value.detail, out);
  }
}

function parsedValuesOf(path: string): unknown[] {
  let text: string;
  try {
    const bytes = readFileSync(path);
    text = (path.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8");
  } catch {
    return [];
  }
  try {
    return [JSON.parse(text) as unknown];
  } catch {
    // JSON lines, or a file that is not valid JSON upstream: take the lines that parse.
    const values: unknown[] = [];
    for (const line of text.split("\n")) {
      try {
        if (line.trim() !== "") values.push(JSON.parse(line) as unknown);
      } catch {
        // Not a record.
      }
    }
    return values;
  }
}

function corpusFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...corpusFiles(path));
    else if (/\.(json|jsonl|gz)$/.test(entry.name)) files.push(path);
  }
  return files.sort();
}

interface Templates {
  read: RawRecord[];
  trigger: RawRecord[];
  other: RawRecord[];
}

/** The corpus records the engine accepts, sorted into reads, control triggers and other calls. */
export function loadTemplates(corpusDir = CORPUS_DIR): Templates {
  if (!existsSync(corpusDir))
    throw new Error(`the realistic set is shaped on the corpus at ${corpusDir}, which is missing (set HIPAA_BENCH_CORPUS)`);
  const records: RawRecord[] = [];
  for (const file of corpusFiles(corpusDir)) for (const value of parsedValuesOf(file)) collectRecords(value, records);
  const index = new ControlIndex(controls);
  const templates: Templates = { read: [], trigger: [], other: [] };
  for (const record of records) {
    const result = normaliseRecord(record, "corpus");
    if (result.kind === "rejected") continue;
    const name = String(record.eventName);
    const failed = typeof record.errorCode === "string";
    if (READ_CALL.test(name)) templates.read.push(record);
    else if (!failed && result.kind === "event" && record.readOnly !== true && index.match(result.event).length > 0)
      templates.trigger.push(record);
    else templates.other.push(record);
  }
  if (templates.read.length === 0 || templates.trigger.length === 0 || templates.other.length === 0) {
    throw new Error(`the corpus at ${corpusDir} lacks reads, control triggers or other calls to shape records on`);
  }
  return templates;
}

function specDirName(spec: RealisticSpec): string {
  return `realistic-${Math.round(spec.totalBytes / (1 << 20))}MiB-seed${spec.seed}`;
}

function sameSpec(a: RealisticSpec, b: RealisticSpec): boolean {
  return (Object.keys(a) as (keyof RealisticSpec)[]).every((key) => a[key] === b[key]);
}

function readManifest(path: string): RealisticManifest | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as RealisticManifest;
  } catch {
    return undefined;
  }
}

/** Generates the realistic set for `spec` under bench/.data, or reuses an identical one. Deterministic per seed. */
export function ensureRealisticSet(
  spec: RealisticSpec,
  log: (line: string) => void = () => undefined,
): { dir: string; manifest: RealisticManifest } {
  const dir = join(DATA_DIR, specDirName(spec));
  const manifestPath = `${dir}.manifest.json`;
  const existing = readManifest(manifestPath);
  if (
    existing &&
    existing.generatorVersion === GENERATOR_VERSION &&
    sameSpec(existing.realistic, spec) &&
    existing.files.every((file) => existsSync(join(dir, file)))
  ) {
    return { dir, manifest: existing };
  }
  rmSync(dir, { recursive: true, force: true });
  log(`generating ${specDirName(spec)} from the corpus in ${CORPUS_DIR} ...`);
  const templates = loadTemplates();
  const random = prng(spec.seed);
  const pools = { read: 0, trigger: 0, other: 0, failed: 0 };
  const files: string[] = [];
  let bytes = 0;
  let records = 0;
  let gzipped = 0;
  let sequence = 0;
  while (bytes < spec.totalBytes) {
    const account = pick(random, ACCOUNTS);
    const region = pick(random, REGIONS);
    const target = Math.min(spec.totalBytes - bytes, Math.max(4096, Math.floor(spec.meanFileBytes * (0.1 + random() * 1.8))));
    const parts: string[] = ['{"Records":['];
    let fileBytes = parts[0]?.length ?? 0;
    let fileRecords = 0;
    while (fileBytes < target) {
      const roll = random();
      const pool = roll < spec.readShare ? "read" : roll < spec.readShare + spec.triggerShare ? "trigger" : "other";
      const template = pick(random, templates[pool]);
      const record = {
        ...template,
        eventTime: new Date(START_TIME + sequence++ * 50).toISOString().replace(/\.\d{3}Z$/, "Z"),
        eventID: uuid(random),
        requestID: uuid(random),
        awsRegion: region,
        recipientAccountId: account,
      };
      pools[pool] += 1;
      if (typeof template.errorCode === "string") pools.failed += 1;
      const text = (fileRecords === 0 ? "" : ",") + JSON.stringify(record);
      parts.push(text);
      fileBytes += Buffer.byteLength(text);
      fileRecords += 1;
    }
    parts.push("]}");
    const body = Buffer.from(parts.join(""), "utf8");
    const at = new Date(START_TIME + sequence * 50);
    const day = at.toISOString().slice(0, 10).split("-");
    const stamp = at.toISOString().replace(/[-:]/g, "").slice(0, 13);
    // Spread evenly, so the share holds for a small quick set too.
    const compress = Math.floor((files.length + 1) * spec.gzipShare) > Math.floor(files.length * spec.gzipShare);
    const name = `${account}_CloudTrail_${region}_${stamp}Z_${hex(random, 16)}.json${compress ? ".gz" : ""}`;
    const path = join(dir, "AWSLogs", account, "CloudTrail", region, ...day, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, compress ? gzipSync(body) : body);
    if (compress) gzipped += 1;
    files.push(relative(dir, path));
    bytes += body.length;
    records += fileRecords;
  }
  files.sort();
  const manifest: RealisticManifest = {
    spec: { totalBytes: spec.totalBytes, seed: spec.seed, singleFile: false },
    realistic: spec,
    generatorVersion: GENERATOR_VERSION,
    files,
    bytes,
    records,
    pools,
    gzipped,
    templates: { read: templates.read.length, trigger: templates.trigger.length, other: templates.other.length },
  };
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  log(`  ${files.length} files (${gzipped} gzipped), ${(bytes / (1 << 20)).toFixed(0)} MiB uncompressed, ${records} records`);
  return { dir, manifest };
}
