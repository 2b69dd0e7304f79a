import { spawn } from "node:child_process";
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { cliNodeFlags, ensureCliBundle } from "../packages/cli/bundle.mjs";
import { readChangeEvents } from "@hipaa-remediate/core";
import type { ChildReport } from "./ingest-child";
import type { LogSetManifest } from "./generate";

/**
 * The benchmark cases, in the order they run. Each case measures one way of consuming a generated log set;
 * `run.ts` prints them side by side and compares each case's speed with the JSON.parse baseline of its set. To measure another
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
  /** The realistic set shaped on the corpus (default 320 MiB, a third of the files gzipped). */
  realistic: LogSet;
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
  /**
   * CPU time (user + system) of the work. On a busy machine wall time swings with the other load; CPU time
   * much less, so ratios are given on both.
   */
  cpuSeconds?: number;
  detail?: string;
}

export interface BenchCase {
  name: string;
  description: string;
  /** The baseline case (read earlier in the same run, over the same set) whose speed this case is compared with. */
  compareWith?: "baseline" | "baseline:realistic";
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

/**
 * A streaming JSON.parse of each file (gunzipped when it is gzip): the bytes are streamed in, and each file's
 * `{"Records":[...]}` is parsed with one JSON.parse. No checks, no accounting: the floor replay is compared with.
 */
async function parseStreaming(set: LogSet): Promise<Measurement> {
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  let bytes = 0;
  let records = 0;
  for (const file of filesOf(set)) {
    const raw = createReadStream(file, { highWaterMark: 1 << 20 });
    bytes += statSync(file).size;
    const decoded = file.endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
    const chunks: Buffer[] = [];
    for await (const chunk of decoded) chunks.push(chunk as Buffer);
    const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Records: unknown[] };
    records += parsed.Records.length;
  }
  const cpu = process.cpuUsage(cpuAtStart);
  return { seconds: (performance.now() - started) / 1000, bytes, records, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
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
  return {
    seconds: (performance.now() - started) / 1000,
    bytes,
    records,
    detail: `${kinds.event} events, ${kinds.ignored} ignored, ${kinds.rejected} rejected`,
  };
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

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Peak RSS (Linux: VmHWM) and CPU time (utime + stime) of a running process, read every 50 ms until it exits:
 * the last read is the peak, and the CPU time to within one interval.
 */
function watchProcess(pid: number): { stop(): { peakRssBytes: number; cpuSeconds: number } } {
  let peakRssBytes = 0;
  let cpuSeconds = 0;
  const read = () => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match?.[1]) peakRssBytes = Math.max(peakRssBytes, Number(match[1]) * 1024);
      // Fields after the command name (which is in parentheses and may hold spaces): utime and stime are 14 and 15.
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    } catch {
      // The process has exited.
    }
  };
  const timer = setInterval(read, 50);
  return {
    stop() {
      clearInterval(timer);
      return { peakRssBytes, cpuSeconds };
    },
  };
}

/**
 * The full `hipaa-remediate replay --format jsonl` (ingestion, matching, detection, decisions, the SQLite log;
 * offline dry-run), exactly as the launcher runs it: the bundle, with the launcher's Node flags.
 */
async function replayWithCli(paths: string[]): Promise<Measurement> {
  const bundle = await ensureCliBundle();
  const db = join(mkdtempSync(join(tmpdir(), "hipaa-bench-")), "engine.db");
  const started = performance.now();
  return new Promise((resolveRun, reject) => {
    const child = spawn(
      process.execPath,
      [...cliNodeFlags(), bundle, "replay", "--format", "jsonl", "--no-progress", "--db", db, ...paths],
      {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const watched = watchProcess(child.pid ?? 0);
    let tail = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4096)));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = (performance.now() - started) / 1000;
      const { peakRssBytes, cpuSeconds } = watched.stop();
      rmSync(dirname(db), { recursive: true, force: true });
      if (code !== 0) return reject(new ChildFailedError(`replay exited with ${code}: ${stderr.slice(-2000)}`));
      try {
        const summary = JSON.parse(tail.trim().split("\n").at(-1) ?? "") as {
          records: number;
          bytes: number;
          matched: number;
          findings: number;
          ignored: number;
        };
        resolveRun({
          seconds,
          bytes: summary.bytes,
          records: summary.records,
          peakRssBytes,
          cpuSeconds,
          detail: `${summary.matched} matched a control, ${summary.findings} findings, ${summary.ignored} ignored; log written to SQLite`,
        });
      } catch (error) {
        reject(new ChildFailedError(`replay printed no summary: ${tail.slice(-500)}`, { cause: error }));
      }
    });
  });
}

export const BENCH_CASES: BenchCase[] = [
  {
    name: "baseline",
    description: "read each file whole + JSON.parse (set)",
    run: (ctx) => fastest(ctx.runs, () => parseWhole(ctx.set)),
  },
  {
    name: "ingest",
    description: "readChangeEvents over the set folder (streaming, normalised)",
    compareWith: "baseline",
    run: (ctx) => fastest(ctx.runs, () => ingestInProcess(ctx.set)),
  },
  {
    name: "ingest-child:one-file",
    description: "readChangeEvents in a child process over the set's first file: the memory floor to compare with",
    run: (ctx) => fastest(ctx.runs, () => ingestInChild(filesOf(ctx.set).slice(0, 1))),
  },
  {
    name: "ingest-child:set",
    description: "readChangeEvents in a child process over the whole set, peak RSS",
    compareWith: "baseline",
    run: (ctx) => fastest(ctx.runs, () => ingestInChild([ctx.set.dir])),
  },
  {
    name: "replay",
    description: "hipaa-remediate replay --format jsonl over the set (full pipeline, dry-run, SQLite log), peak RSS: the worst case",
    compareWith: "baseline",
    run: (ctx) => fastest(ctx.runs, () => replayWithCli([ctx.set.dir])),
  },
  {
    name: "baseline:realistic",
    description: "stream each file of the realistic set (gunzip included) + JSON.parse it",
    run: (ctx) => fastest(ctx.runs, () => parseStreaming(ctx.realistic)),
  },
  {
    name: "replay:realistic",
    description: "hipaa-remediate replay --format jsonl over the realistic set (full pipeline, dry-run, SQLite log), peak RSS",
    compareWith: "baseline:realistic",
    run: (ctx) => fastest(ctx.runs, () => replayWithCli([ctx.realistic.dir])),
  },
  {
    name: "replay:single",
    description: "hipaa-remediate replay over one huge file, peak RSS",
    run: (ctx) => fastest(ctx.runs, () => replayWithCli([ctx.single.dir])),
  },
  {
    name: "ingest-child:single",
    description: "readChangeEvents in a child process over one huge file, peak RSS",
    run: (ctx) => fastest(ctx.runs, () => ingestInChild([ctx.single.dir])),
  },
];
