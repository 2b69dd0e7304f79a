import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readChangeEvents } from "@hipaa-remediate/core";
import type { ChildReport } from "./ingest-child";
import type { LogSetManifest } from "./generate";

/**
 * The benchmark cases, in the order they run. Each case measures one way of consuming a generated log set;
 * `run.ts` prints them side by side and compares throughput with the JSON.parse baseline. To measure another
 * stage (for example the full `replay` pipeline), add a case to BENCH_CASES.
 */

export interface LogSet {
  /** Folder holding the set (an AWSLogs tree, or one huge file). */
  dir: string;
  manifest: LogSetManifest;
}

export interface BenchContext {
  /** The many-files AWSLogs set (default 1 GiB). */
  set: LogSet;
  /** One huge log file (default 300 MiB), for flat memory on a single file. */
  single: LogSet;
  /** Timed cases run this many times; the fastest run counts (the machine may be busy). */
  runs: number;
}

export interface Measurement {
  seconds: number;
  bytes: number;
  records: number;
  /** Peak RSS of the process that did the work, when measured in a child process. */
  peakRssBytes?: number;
  /** RSS of that process before it started reading. */
  startRssBytes?: number;
  detail?: string;
}

export interface BenchCase {
  name: string;
  description: string;
  /** Whether to print the throughput ratio against the `baseline` case. */
  compareWithBaseline: boolean;
  run(ctx: BenchContext): Promise<Measurement>;
}

const repoRoot = resolve(import.meta.dirname, "..");

function filesOf(set: LogSet): string[] {
  return set.manifest.files.map((file) => join(set.dir, file));
}

/** The fastest of `runs` runs; peak RSS is the highest any run reached. */
async function fastest(runs: number, once: () => Promise<Measurement>): Promise<Measurement> {
  let best: Measurement | undefined;
  let peakRssBytes: number | undefined;
  for (let i = 0; i < runs; i++) {
    const measured = await once();
    if (measured.peakRssBytes !== undefined) peakRssBytes = Math.max(peakRssBytes ?? 0, measured.peakRssBytes);
    if (!best || measured.seconds < best.seconds) best = measured;
  }
  if (!best) throw new RangeError("runs must be at least 1");
  return peakRssBytes === undefined ? best : { ...best, peakRssBytes };
}

/** Plain JSON.parse of every file, read whole: the fastest anything can turn these bytes into objects. */
async function parseWhole(set: LogSet): Promise<Measurement> {
  const started = performance.now();
  let bytes = 0;
  let records = 0;
  for (const file of filesOf(set)) {
    const buffer = await readFile(file);
    bytes += buffer.length;
    const parsed = JSON.parse(buffer.toString("utf8")) as { Records: unknown[] };
    records += parsed.Records.length;
  }
  return { seconds: (performance.now() - started) / 1000, bytes, records };
}

async function ingestInProcess(set: LogSet): Promise<Measurement> {
  const started = performance.now();
  let bytes = 0;
  let records = 0;
  const kinds = { event: 0, ignored: 0, rejected: 0 };
  for await (const result of readChangeEvents([set.dir], { onProgress: (p) => (bytes = p.bytes) })) {
    records++;
    kinds[result.kind]++;
  }
  return { seconds: (performance.now() - started) / 1000, bytes, records, detail: `${kinds.event} events, ${kinds.ignored} ignored, ${kinds.rejected} rejected` };
}

class ChildFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChildFailedError";
  }
}

/** Ingestion in a fresh `node --import tsx bench/ingest-child.ts` process, for its peak RSS. */
export function ingestInChild(paths: string[]): Promise<Measurement> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "bench", "ingest-child.ts"), ...paths], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new ChildFailedError(`ingest-child exited with ${code}: ${stderr.slice(-2000)}`));
      try {
        const report = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as ChildReport;
        resolveRun({
          seconds: report.seconds,
          bytes: report.bytes,
          records: report.records,
          peakRssBytes: report.maxRssBytes,
          startRssBytes: report.startRssBytes,
          detail: `${report.events} events, ${report.ignored} ignored, ${report.rejected} rejected`,
        });
      } catch (error) {
        reject(new ChildFailedError(`ingest-child printed no report: ${stdout.slice(-500)}`, { cause: error }));
      }
    });
  });
}

export const BENCH_CASES: BenchCase[] = [
  {
    name: "baseline",
    description: "read each file whole + JSON.parse (set)",
    compareWithBaseline: false,
    run: (ctx) => fastest(ctx.runs, () => parseWhole(ctx.set)),
  },
  {
    name: "ingest",
    description: "readChangeEvents over the set folder (streaming, normalised)",
    compareWithBaseline: true,
    run: (ctx) => fastest(ctx.runs, () => ingestInProcess(ctx.set)),
  },
  {
    name: "ingest-child:one-file",
    description: "readChangeEvents in a child process over the set's first file: the memory floor to compare with",
    compareWithBaseline: false,
    run: (ctx) => fastest(ctx.runs, () => ingestInChild(filesOf(ctx.set).slice(0, 1))),
  },
  {
    name: "ingest-child:set",
    description: "readChangeEvents in a child process over the whole set, peak RSS",
    compareWithBaseline: true,
    run: (ctx) => fastest(ctx.runs, () => ingestInChild([ctx.set.dir])),
  },
  {
    name: "ingest-child:single",
    description: "readChangeEvents in a child process over one huge file, peak RSS",
    compareWithBaseline: false,
    run: (ctx) => fastest(ctx.runs, () => ingestInChild([ctx.single.dir])),
  },
];
