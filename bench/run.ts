import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_CASES, type BenchContext, type Measurement } from "./cases";
import { DATA_DIR, ensureLogSet } from "./generate";
import { benchSweep, type SweepBenchResult } from "./sweep";

/**
 * `npm run bench [-- --set-mib 1024 --single-mib 300 --runs 3 --only ingest]`
 * Generates (or reuses) the log sets in bench/.data, runs every case, prints a table and writes
 * bench/.data/results.json.
 */

const MIB = 1 << 20;

const { values } = parseArgs({
  options: {
    "set-mib": { type: "string", default: "1024" },
    "single-mib": { type: "string", default: "300" },
    runs: { type: "string", default: "3" },
    seed: { type: "string", default: "1" },
    only: { type: "string", multiple: true },
    "sweep-buckets": { type: "string", default: "1000" },
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
}

function mb(bytes: number): string {
  return (bytes / MIB).toFixed(0);
}

function printTable(rows: Row[]): void {
  const header = ["case", "MiB", "records", "seconds", "records/s", "MiB/s", "vs baseline", "start RSS MiB", "peak RSS MiB"];
  const lines = rows.map((row) => [
    row.name,
    mb(row.measurement.bytes),
    String(row.measurement.records),
    row.measurement.seconds.toFixed(2),
    Math.round(row.recordsPerSecond).toLocaleString("en-US"),
    row.megabytesPerSecond.toFixed(1),
    row.ratioToBaseline === undefined ? "" : `${(row.ratioToBaseline * 100).toFixed(0)}%`,
    row.measurement.startRssBytes === undefined ? "" : mb(row.measurement.startRssBytes),
    row.measurement.peakRssBytes === undefined ? "" : mb(row.measurement.peakRssBytes),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? "").length)));
  const format = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join("  ");
  console.log(format(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const line of lines) console.log(format(line));
  console.log("");
  for (const row of rows) console.log(`${row.name}: ${row.description}${row.measurement.detail ? ` — ${row.measurement.detail}` : ""}`);
}

function printSweep(result: SweepBenchResult): void {
  console.log(`\nsweep of ${result.buckets} buckets on the emulator (fastest of the runs, dry-run)`);
  for (const [label, run] of [["one bucket control", result.one], ["every bucket control", result.all]] as const) {
    const commands = Object.entries(run.requestsByCommand)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([command, count]) => `${command.replace(/Command$/, "")} ${count}`)
      .join(", ");
    console.log(`  ${label.padEnd(21)} ${String(run.controls.length).padStart(2)} controls  ${run.seconds.toFixed(2)} s  ${run.s3Requests} S3 requests (${commands})`);
  }
  console.log(`  every/one time ratio: ${result.ratio.toFixed(2)}x (target at most 1.5x)`);
}

async function main(): Promise<void> {
  const seed = positive("seed", values.seed);
  const runs = Math.round(positive("runs", values.runs));
  const log = (line: string) => console.error(line);
  const onlySweep = values.only !== undefined && values.only.every((name) => name === "sweep");
  const sweep = values.only === undefined || values.only.includes("sweep")
    ? await benchSweep({ buckets: Math.round(positive("sweep-buckets", values["sweep-buckets"])), runs, log })
    : undefined;
  if (sweep) printSweep(sweep);
  if (onlySweep) {
    mkdirSync(DATA_DIR, { recursive: true });
    writeFileSync(join(DATA_DIR, "sweep-results.json"), `${JSON.stringify({ at: new Date().toISOString(), node: process.version, sweep }, null, 2)}\n`);
    return;
  }
  const set = await ensureLogSet({ totalBytes: positive("set-mib", values["set-mib"]) * MIB, seed, singleFile: false }, log);
  const single = await ensureLogSet({ totalBytes: positive("single-mib", values["single-mib"]) * MIB, seed: seed + 1, singleFile: true }, log);
  const ctx: BenchContext = { set, single, runs };
  console.error(`set: ${set.manifest.files.length} files, ${mb(set.manifest.bytes)} MiB, ${set.manifest.records} records; single file: ${mb(single.manifest.bytes)} MiB, ${single.manifest.records} records`);

  const selected = values.only ? BENCH_CASES.filter((c) => values.only?.includes(c.name) || c.name === "baseline") : BENCH_CASES;
  const rows: Row[] = [];
  let baseline: Row | undefined;
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
    if (benchCase.name === "baseline") baseline = row;
    else if (benchCase.compareWithBaseline && baseline) row.ratioToBaseline = row.megabytesPerSecond / baseline.megabytesPerSecond;
    rows.push(row);
  }

  printTable(rows);
  mkdirSync(DATA_DIR, { recursive: true });
  const resultsPath = join(DATA_DIR, "results.json");
  writeFileSync(
    resultsPath,
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, runs, set: set.manifest.spec, single: single.manifest.spec, rows, sweep }, null, 2)}\n`,
  );
  console.error(`\nwrote ${resultsPath}`);
}

await main();
