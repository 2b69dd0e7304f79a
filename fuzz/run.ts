import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { isDeepStrictEqual } from "node:util";
import {
  processEvent,
  readChangeEventsFromStream,
  readScreenedChangeEventsFromStream,
  type IngestResult,
  type ListenScreen,
} from "@hipaa-remediate/core";
import { openLocalEngine, type LocalEngine } from "../packages/cli/src/local/engine";
import { stderrLogger } from "../packages/cli/src/output/stderr-logger";
import { prng } from "../bench/generate";
import { expectedScreenedResult } from "../test/support/screened";

/**
 * `npm run fuzz [-- --seconds 60 --seed 1]`
 *
 * A corpus-mutation fuzzer for ingestion and the offline engine. It reads the public CloudTrail records in
 * ../shared/corpus (never copied into the repository), and for a fixed time builds inputs from them in memory:
 * JSON lines, log files, arrays, pretty-printed and gzip forms, mutated at the byte, token and line level
 * (flipped and inserted bytes, cuts, numbers that overflow to Infinity, deep nesting, byte-order marks,
 * indentation, brackets left open, trailing bytes after gzip). Each input goes through ingestion at a random
 * chunking, and every change it yields through the offline engine (dry-run, SQLite log in memory).
 *
 * It reports the inputs tried, the results, crashes (anything thrown: ingestion must turn bad input into
 * rejections, the engine must cope with every event ingestion lets through), unaccounted units (a JSON-lines
 * input whose lines did not each get exactly one result, in order), and divergences (replay's screened reader
 * giving any result other than the full reader's, a change no control listens to aside). It exits non-zero when
 * any is found.
 */

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    seed: { type: "string", default: "1" },
  },
});

const corpusDir = resolve(import.meta.dirname, "../../shared/corpus");

// Seeded, so a run that finds something can be repeated with its seed.
const random = prng(Number(values.seed));
const below = (n: number) => Math.floor(random() * n);
function pick<T>(items: readonly T[]): T {
  const item = items[below(items.length)];
  if (item === undefined) throw new RangeError("pick from an empty list");
  return item;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every record in a parsed corpus value, as compact JSON. */
function recordsIn(value: unknown, out: string[]): void {
  if (Array.isArray(value)) value.forEach((element) => recordsIn(element, out));
  else if (typeof value === "object" && value !== null) {
    const records = (value as { Records?: unknown }).Records;
    if (Array.isArray(records)) recordsIn(records, out);
    else out.push(JSON.stringify(value));
  }
}

function loadCorpusRecords(): string[] {
  const records: string[] = [];
  for (const file of filesUnder(corpusDir)) {
    const extension = extname(file);
    if (![".json", ".jsonl", ".gz"].includes(extension)) continue;
    let text: string;
    try {
      const bytes = readFileSync(file);
      text = (extension === ".gz" ? gunzipSync(bytes) : bytes).toString("utf8");
    } catch {
      continue;
    }
    const values = extension === ".jsonl" ? text.split("\n") : [text];
    for (const part of values) {
      try {
        recordsIn(JSON.parse(part), records);
      } catch {
        // Corpus files that are not JSON are fuzz material for the byte mutations only.
      }
    }
  }
  return records;
}

type Mutation = (text: string) => string;

/** Mutations of one record's text. */
const recordMutations: Record<string, Mutation> = {
  "flip a byte": (text) => {
    const at = below(text.length);
    return `${text.slice(0, at)}${String.fromCharCode(below(128))}${text.slice(at + 1)}`;
  },
  "insert a structural byte": (text) => {
    const at = below(text.length);
    return `${text.slice(0, at)}${pick(['"', "{", "}", "[", "]", ",", ":", "\\", " "])}${text.slice(at)}`;
  },
  "cut short": (text) => text.slice(0, below(text.length)),
  "drop a stretch": (text) => {
    const at = below(text.length);
    return text.slice(0, at) + text.slice(at + 1 + below(40));
  },
  "number overflows to Infinity": (text) =>
    text
      .replace(/:(-?\d+(?:\.\d+)?)([,}])/, (_, _n, end: string) => `:${pick(["1e999", "-1e999", "9".repeat(400)])}${end}`)
      .replace(/^\{/, '{"n":1e999,'),
  "deep nesting in a field": (text) => {
    const depth = pick([63, 64, 65, 200, 5000, 100_000]);
    return text.replace(/^\{/, `{"deep":${"[".repeat(depth)}${"]".repeat(depth)},`);
  },
  "deep objects in a field": (text) => {
    const depth = pick([65, 3000]);
    return text.replace(/^\{/, `{"deep":${'{"a":'.repeat(depth)}1${"}".repeat(depth)},`);
  },
  "field of the wrong type": (text) =>
    text.replace(
      /"(eventName|eventSource|eventTime|userIdentity|requestParameters)":/,
      (_, key: string) => `"${key}":${pick(["1", "null", "[]", "{}", '"..."', "true"])},"_was":`,
    ),
  unchanged: (text) => text,
};

/** Mutations at the line level of a JSON-lines input: each keeps one line per unit. */
const lineMutations: Record<string, (line: string) => string> = {
  indent: (line) => `${pick([" ", "\t", "   ", " \t"])}${line}`,
  "byte-order mark": (line) => `\uFEFF${line}`,
  "open bracket never closed": (line) => `${line.slice(0, Math.max(1, below(line.length)))}`,
  "text that is not JSON": () => pick(["not json", "# comment", "Records:", "null", "true", "}{", "\u0000\u0001"]),
  unchanged: (line) => line,
};

interface Input {
  bytes: Buffer;
  /** How the input was made, for the report: never its content. */
  recipe: string;
  /** For JSON lines: the number of lines, each of which must yield exactly one result. */
  lines?: number;
}

function mutatedRecord(records: readonly string[]): { text: string; how: string } {
  const name = pick(Object.keys(recordMutations));
  const mutate = recordMutations[name] ?? ((text: string) => text);
  return { text: mutate(pick(records)), how: name };
}

function buildInput(records: readonly string[]): Input {
  const count = 1 + below(8);
  const shape = pick(["JSON lines", "log file", "array", "pretty", "gzip", "gzip members + trailing bytes", "raw bytes"]);
  if (shape === "JSON lines") {
    // The first line is a sound record: it shows the input is JSON lines, from which point every line counts.
    const lines = [pick(records)];
    const hows: string[] = [];
    for (let i = 1; i < count; i++) {
      const mutated = mutatedRecord(records);
      const lineName = pick(Object.keys(lineMutations));
      const line = (lineMutations[lineName] ?? ((text: string) => text))(mutated.text).replace(/[\r\n]/g, " ");
      // A line that opens no value and holds only blanks yields nothing, and an array yields one result per element.
      if (line.trim().replace(/\uFEFF/g, "") === "" || /^[\s\uFEFF]*\[/.test(line)) continue;
      lines.push(line);
      hows.push(`${mutated.how}/${lineName}`);
    }
    return { bytes: Buffer.from(lines.join(pick(["\n", "\r\n"]))), recipe: `JSON lines: ${hows.join(", ")}`, lines: lines.length };
  }
  const mutated = Array.from({ length: count }, () => mutatedRecord(records));
  const texts = mutated.map((m) => m.text);
  const recipe = `${shape}: ${mutated.map((m) => m.how).join(", ")}`;
  switch (shape) {
    case "log file":
      return { bytes: Buffer.from(`{"Records":[${texts.join(",")}]}`), recipe };
    case "array":
      return { bytes: Buffer.from(`[${texts.join(",\n")}]`), recipe };
    case "pretty":
      return { bytes: Buffer.from(texts.map(prettyOrAsIs).join("\n")), recipe };
    case "gzip":
      return { bytes: gzipSync(`{"Records":[${texts.join(",")}]}`), recipe };
    case "gzip members + trailing bytes": {
      const members = texts.map((text) => gzipSync(text));
      const trailing = pick([Buffer.alloc(0), Buffer.alloc(64), Buffer.from("trailing"), Buffer.from([0x1f, 0x8b, 0x08])]);
      return { bytes: Buffer.concat([...members, trailing]), recipe: `${recipe} + ${trailing.length} trailing bytes` };
    }
    default: {
      const bytes = Buffer.from(texts.join("\n"));
      for (let i = 0; i < 1 + below(8); i++) bytes[below(bytes.length)] = below(256);
      return { bytes, recipe };
    }
  }
}

/** Pretty-printed when it parses; deep nesting indents quadratically, so a large result is left compact. */
function prettyOrAsIs(text: string): string {
  try {
    const pretty = JSON.stringify(JSON.parse(text), null, 2);
    return pretty.length < 1 << 20 ? pretty : text;
  } catch {
    return text;
  }
}

/** Random chunk boundaries; tiny chunks only for small inputs, which keeps the time per input bounded. */
function* chunksOf(bytes: Buffer): Generator<Buffer> {
  const size = bytes.length < 1 << 13 ? pick([1, 3, 17, 1024, 1 << 20]) : pick([1021, 4096, 1 << 20]);
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : String(error);
}

interface Report {
  inputs: number;
  bytes: number;
  results: Record<IngestResult["kind"], number>;
  engineRuns: number;
  crashes: string[];
  unaccounted: string[];
  divergent: string[];
}

/** Replay's screened reader over the same chunks must give the full reader's results, unmatched changes aside. */
async function checkScreened(
  chunks: readonly Buffer[],
  results: readonly IngestResult[],
  listens: ListenScreen,
  input: Input,
  report: Report,
) {
  try {
    const screened = [];
    for await (const result of readScreenedChangeEventsFromStream(chunks, "fuzz", listens)) screened.push(result);
    const expected = results.map((result) => expectedScreenedResult(result, listens));
    if (!isDeepStrictEqual(screened, expected)) report.divergent.push(`screened reader differs on ${input.recipe}`);
  } catch (error) {
    report.crashes.push(`screened ingestion threw ${errorText(error)} on ${input.recipe}`);
  }
}

async function fuzzOne(input: Input, engine: LocalEngine, report: Report): Promise<void> {
  let results: IngestResult[];
  const chunks = [...chunksOf(input.bytes)];
  try {
    results = [];
    for await (const result of readChangeEventsFromStream(chunks, "fuzz")) results.push(result);
  } catch (error) {
    report.crashes.push(`ingestion threw ${errorText(error)} on ${input.recipe}`);
    return;
  }
  await checkScreened(chunks, results, (call) => engine.deps.index.listensTo(call), input, report);
  for (const result of results) report.results[result.kind]++;
  if (input.lines !== undefined) {
    const origins = results.map((r) => (r.kind === "event" ? r.event.origin : r.source));
    const expected = Array.from({ length: input.lines }, (_, i) => `fuzz#line ${i + 1}`);
    if (origins.join("|") !== expected.join("|"))
      report.unaccounted.push(`${input.lines} lines gave ${results.length} results (${input.recipe})`);
  }
  for (const result of results) {
    if (result.kind !== "event") continue;
    try {
      await processEvent(result.event, engine.deps);
      report.engineRuns++;
    } catch (error) {
      report.crashes.push(`engine threw ${errorText(error)} on ${input.recipe}`);
    }
  }
}

async function main(): Promise<number> {
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError(`--seconds must be a positive number, got ${values.seconds}`);
  const records = loadCorpusRecords();
  if (records.length === 0) throw new Error(`no CloudTrail records found under ${corpusDir}`);
  const engine = await openLocalEngine({ dbPath: ":memory:", logger: stderrLogger(false) });
  const report: Report = {
    inputs: 0,
    bytes: 0,
    results: { event: 0, ignored: 0, rejected: 0 },
    engineRuns: 0,
    crashes: [],
    unaccounted: [],
    divergent: [],
  };
  const deadline = performance.now() + seconds * 1000;
  try {
    while (performance.now() < deadline) {
      const input = buildInput(records);
      report.inputs++;
      report.bytes += input.bytes.length;
      await fuzzOne(input, engine, report);
    }
  } finally {
    await engine.close();
  }
  console.log(`fuzz: ${seconds} s, seed ${values.seed}, ${records.length} corpus records as seeds`);
  console.log(`inputs tried: ${report.inputs} (${(report.bytes / 1e6).toFixed(1)} MB)`);
  console.log(
    `results: ${report.results.event} changes, ${report.results.ignored} ignored, ${report.results.rejected} rejected; ${report.engineRuns} engine runs`,
  );
  console.log(`crashes: ${report.crashes.length}`);
  for (const crash of report.crashes.slice(0, 10)) console.log(`  ${crash}`);
  console.log(`unaccounted units: ${report.unaccounted.length}`);
  for (const loss of report.unaccounted.slice(0, 10)) console.log(`  ${loss}`);
  console.log(`screened reader divergences: ${report.divergent.length}`);
  for (const divergence of report.divergent.slice(0, 10)) console.log(`  ${divergence}`);
  return report.crashes.length + report.unaccounted.length + report.divergent.length === 0 ? 0 : 1;
}

process.exitCode = await main();
