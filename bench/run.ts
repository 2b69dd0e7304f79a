import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_CASES, type BenchContext, type Measurement } from "./cases";
import { DATA_DIR, ensureLogSet } from "./generate";
import { ensureRealisticSet, realisticSpec } from "./realistic";
import { benchSweep, type SweepBenchResult } from "./sweep";
import { benchHotPath, printHotPath } from "./hot-path";
import { benchLoad, printLoad } from "./load";
import { benchColdStart, printColdStart } from "./cold-start";

/**
 * `npm run bench [-- --set-mib 1024 --single-mib 300 --realistic-mib 320 --runs 3 --only replay:realistic]`
 * Generates (or reuses) the log sets in bench/.data, runs every case, prints a table and writes
 * bench/.data/results.json.
 */

const MIB = 1 << 20;

const { values } = parseArgs({
  options: {
    "set-mib": { type: "string", default: "1024" },
    "single-mib": { type: "string", default: "300" },
    /** The realistic set; a smaller one (say 32) for a quick run. */
    "realistic-mib": { type: "string", default: "320" },
    runs: { type: "string", default: "3" },
    seed: { type: "string", default: "1" },
    only: { type: "string", multiple: true },
    "sweep-buckets": { type: "string", default: "1000" },
    "hot-path-samples": { type: "string", default: "100" },
    "load-events": { type: "string", default: "10000" },
    "load-consumers": { type: "string", default: "4" },
  },
});

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`--${name} must be a positive number, got ${text}`);
  return value;
}

interface Row {
  name: string;
  description: string;
  measurement: Measurement;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  ratioToBaseline?: number;
  /** The same ratio on CPU time, when both were measured. */
  cpuRatioToBaseline?: number;
}

function mb(bytes: number): string {
  return (bytes / MIB).toFixed(0);
}

function printTable(rows: Row[]): void {
  const header = [
    "case",
    "MiB",
    "records",
    "seconds",
    "CPU s",
    "records/s",
    "MiB/s",
    "vs baseline",
    "vs baseline (CPU)",
    "start RSS MiB",
    "peak RSS MiB",
  ];
  const lines = rows.map((row) => [
    row.name,
    mb(row.measurement.bytes),
    String(row.measurement.records),
    row.measurement.seconds.toFixed(2),
    row.measurement.cpuSeconds === undefined ? "" : row.measurement.cpuSeconds.toFixed(2),
    Math.round(row.recordsPerSecond).toLocaleString("en-US"),
    row.megabytesPerSecond.toFixed(1),
    row.ratioToBaseline === undefined ? "" : `${row.ratioToBaseline.toFixed(2)}x`,
    row.cpuRatioToBaseline === undefined ? "" : `${row.cpuRatioToBaseline.toFixed(2)}x`,
    row.measurement.startRssBytes === undefined ? "" : mb(row.measurement.startRssBytes),
    row.measurement.peakRssBytes === undefined ? "" : mb(row.measurement.peakRssBytes),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? "").length)));
  const format = (cells: string[]) =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join("  ");
  console.log(format(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const line of lines) console.log(format(line));
  console.log("");
  for (const row of rows) console.log(`${row.name}: ${row.description}${row.measurement.detail ? ` — ${row.measurement.detail}` : ""}`);
}

function printSweep(result: SweepBenchResult): void {
  console.log(`\nsweep of ${result.buckets} buckets on the emulator (fastest of the runs, dry-run)`);
  for (const [label, run] of [
    ["one bucket control", result.one],
    ["every bucket control", result.all],
  ] as const) {
    const commands = Object.entries(run.requestsByCommand)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([command, count]) => `${command.replace(/Command$/, "")} ${count}`)
      .join(", ");
    console.log(
      `  ${label.padEnd(21)} ${String(run.controls.length).padStart(2)} controls  ${run.seconds.toFixed(2)} s  ${run.s3Requests} S3 requests (${commands})`,
    );
  }
  console.log(`  every/one time ratio: ${result.ratio.toFixed(2)}x (target at most 1.5x)`);
}

async function main(): Promise<void> {
  const seed = positive("seed", values.seed);
  const runs = Math.round(positive("runs", values.runs));
  const log = (line: string) => console.error(line);
  // The cases on the emulator need no log sets: when only they are asked for, the sets are not generated.
  const onlySweep = values.only !== undefined && values.only.every((name) => ["sweep", "hot-path", "load", "cold-start"].includes(name));
  const wants = (name: string) => values.only === undefined || values.only.includes(name);
  const sweep =
    values.only === undefined || values.only.includes("sweep")
      ? await benchSweep({ buckets: Math.round(positive("sweep-buckets", values["sweep-buckets"])), runs, log })
      : undefined;
  if (sweep) printSweep(sweep);
  const hotPath = wants("hot-path")
    ? await benchHotPath({ samples: Math.round(positive("hot-path-samples", values["hot-path-samples"])), log })
    : undefined;
  if (hotPath) printHotPath(hotPath);
  // 10,000 events take long on the emulator: the load runs only when asked for by name.
  const load = values.only?.includes("load")
    ? await benchLoad({
        events: Math.round(positive("load-events", values["load-events"])),
        consumers: Math.round(positive("load-consumers", values["load-consumers"])),
        log,
      })
    : undefined;
  if (load) printLoad(load);
  const coldStart = wants("cold-start") ? await benchColdStart({ runs, log }) : undefined;
  if (coldStart) printColdStart(coldStart);
  if (onlySweep) {
    mkdirSync(DATA_DIR, { recursive: true });
    if (sweep)
      writeFileSync(
        join(DATA_DIR, "sweep-results.json"),
        `${JSON.stringify({ at: new Date().toISOString(), node: process.version, sweep }, null, 2)}\n`,
      );
    if (hotPath || load)
      writeFileSync(
        join(DATA_DIR, "emulator-results.json"),
        `${JSON.stringify({ at: new Date().toISOString(), node: process.version, hotPath, load }, null, 2)}\n`,
      );
    if (coldStart)
      writeFileSync(join(DATA_DIR, "cold-start-results.json"), `${JSON.stringify({ at: new Date().toISOString(), coldStart }, null, 2)}\n`);
    return;
  }
  const set = await ensureLogSet({ totalBytes: positive("set-mib", values["set-mib"]) * MIB, seed, singleFile: false }, log);
  const single = await ensureLogSet(
    { totalBytes: positive("single-mib", values["single-mib"]) * MIB, seed: seed + 1, singleFile: true },
    log,
  );
  const realistic = ensureRealisticSet(realisticSpec(positive("realistic-mib", values["realistic-mib"]) * MIB, seed), log);
  const ctx: BenchContext = { set, single, realistic, runs };
  console.error(
    `set: ${set.manifest.files.length} files, ${mb(set.manifest.bytes)} MiB, ${set.manifest.records} records; single file: ${mb(single.manifest.bytes)} MiB, ${single.manifest.records} records`,
  );
  const { pools } = realistic.manifest;
  console.error(
    `realistic: ${realistic.manifest.files.length} files (${realistic.manifest.gzipped} gzipped), ${mb(realistic.manifest.bytes)} MiB uncompressed, ${realistic.manifest.records} records: ` +
      `${pools.read} reads, ${pools.trigger} control triggers, ${pools.other} other calls, ${pools.failed} failed calls`,
  );

  // A selected case brings the baseline it is compared with.
  const only = values.only;
  const wanted = only
    ? new Set([...only, ...BENCH_CASES.filter((c) => only.includes(c.name)).flatMap((c) => (c.compareWith ? [c.compareWith] : []))])
    : undefined;
  const selected = wanted ? BENCH_CASES.filter((c) => wanted.has(c.name)) : BENCH_CASES;
  const rows: Row[] = [];
  const baselines = new Map<string, Row>();
  for (const benchCase of selected) {
    console.error(`running ${benchCase.name} ...`);
    const measurement = await benchCase.run(ctx);
    const row: Row = {
      name: benchCase.name,
      description: benchCase.description,
      measurement,
      recordsPerSecond: measurement.records / measurement.seconds,
      megabytesPerSecond: measurement.bytes / MIB / measurement.seconds,
    };
    if (benchCase.name.startsWith("baseline")) baselines.set(benchCase.name, row);
    const baseline = benchCase.compareWith ? baselines.get(benchCase.compareWith) : undefined;
    // Both read the same records of the same set: the ratio of their times is the ratio of their speeds.
    if (baseline) row.ratioToBaseline = baseline.measurement.seconds / row.measurement.seconds;
    const baselineCpu = baseline?.measurement.cpuSeconds;
    if (baselineCpu !== undefined && row.measurement.cpuSeconds !== undefined)
      row.cpuRatioToBaseline = baselineCpu / row.measurement.cpuSeconds;
    rows.push(row);
  }

  printTable(rows);
  mkdirSync(DATA_DIR, { recursive: true });
  const resultsPath = join(DATA_DIR, "results.json");
  writeFileSync(
    resultsPath,
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, runs, set: set.manifest.spec, single: single.manifest.spec, realistic: { spec: realistic.manifest.realistic, pools, gzipped: realistic.manifest.gzipped, files: realistic.manifest.files.length }, rows, sweep, hotPath, load, coldStart }, null, 2)}\n`,
  );
  console.error(`\nwrote ${resultsPath}`);
}

await main();
