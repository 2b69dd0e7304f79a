import { execFile } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { bundleFunction, functionHandlerNames } from "../test/support/function-bundles";
import { DATA_DIR } from "./generate";

/**
 * What a Lambda cold start pays before the handler runs: loading its bundle. Every handler is bundled exactly as
 * `sst deploy` does (test/support/function-bundles.ts), then imported in a fresh Node process, side by side with
 * `node -e 0` (the process start every function pays anyway). The fastest of the runs counts.
 */

const run = promisify(execFile);

/** Imports the bundle and prints how long the import took, in wall and CPU time. */
const IMPORT_AND_TIME = `
const started = performance.now();
const cpu = process.cpuUsage();
await import(process.argv[1]);
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ importMs: performance.now() - started, importCpuMs: (used.user + used.system) / 1000, rssBytes: process.memoryUsage().rss }));
`;

export interface ColdStartRow {
  name: string;
  bytes: number;
  /** Wall time of the whole process: start, import, exit. */
  processMs: number;
  importMs: number;
  importCpuMs: number;
  rssBytes: number;
}

export interface ColdStartResult {
  /** Wall time of `node -e 0`. */
  baselineMs: number;
  node: string;
  rows: ColdStartRow[];
}

async function timed(args: string[]): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, args, {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  return { ms: performance.now() - started, stdout };
}

export async function benchColdStart(options: { runs: number; log(line: string): void }): Promise<ColdStartResult> {
  const dir = join(DATA_DIR, "function-bundles");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let baselineMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < options.runs; i++) baselineMs = Math.min(baselineMs, (await timed(["-e", "0"])).ms);
  const rows: ColdStartRow[] = [];
  for (const name of functionHandlerNames()) {
    options.log(`cold start: bundling and importing ${name} ...`);
    const bundle = await bundleFunction(name, dir);
    let best: ColdStartRow | undefined;
    for (let i = 0; i < options.runs; i++) {
      const { ms, stdout } = await timed(["--input-type=module", "-e", IMPORT_AND_TIME, bundle.file]);
      const measured = JSON.parse(stdout) as { importMs: number; importCpuMs: number; rssBytes: number };
      if (!best || ms < best.processMs) best = { name, bytes: bundle.bytes, processMs: ms, ...measured };
    }
    if (best) rows.push(best);
  }
  return { baselineMs, node: process.version, rows };
}

export function printColdStart(result: ColdStartResult): void {
  console.log(
    `\ncold start of each Lambda bundle on Node ${result.node} (fastest of the runs; node -e 0 takes ${result.baselineMs.toFixed(0)} ms)`,
  );
  const header = ["function", "bundle KiB", "process ms", "import ms", "import CPU ms", "RSS MiB"];
  const lines = result.rows.map((row) => [
    row.name,
    (row.bytes / 1024).toFixed(0),
    row.processMs.toFixed(0),
    row.importMs.toFixed(0),
    row.importCpuMs.toFixed(0),
    (row.rssBytes / (1 << 20)).toFixed(0),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] ?? "").length)));
  const format = (cells: string[]) =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join("  ");
  console.log(format(header));
  for (const line of lines) console.log(format(line));
}
