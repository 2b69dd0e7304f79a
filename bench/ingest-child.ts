import { readChangeEvents } from "@hipaa-remediate/core";

/**
 * Runs ingestion over the given paths in a fresh process and prints one JSON line with the counts, the time and
 * the peak resident set size, so memory is measured without the benchmark's own allocations.
 * Usage: node --import tsx bench/ingest-child.ts <path>...
 */
export interface ChildReport {
  records: number;
  events: number;
  ignored: number;
  rejected: number;
  bytes: number;
  seconds: number;
  /** RSS once the modules are loaded, before reading: the floor ingestion adds to. */
  startRssBytes: number;
  /** Peak RSS over the whole run (`process.resourceUsage().maxRSS`, which is in KiB). */
  maxRssBytes: number;
}

const paths = process.argv.slice(2);
if (paths.length === 0) {
  process.stderr.write("usage: node --import tsx bench/ingest-child.ts <path>...\n");
  process.exit(2);
}

const startRssBytes = process.memoryUsage().rss;
const counts = { event: 0, ignored: 0, rejected: 0 };
let bytes = 0;
const started = performance.now();
for await (const result of readChangeEvents(paths, { onProgress: (p) => (bytes = p.bytes) })) counts[result.kind]++;
const seconds = (performance.now() - started) / 1000;

const report: ChildReport = {
  records: counts.event + counts.ignored + counts.rejected,
  events: counts.event,
  ignored: counts.ignored,
  rejected: counts.rejected,
  bytes,
  seconds,
  startRssBytes,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
