import { createWriteStream, statSync } from "node:fs";
import { finished } from "node:stream/promises";
import { Option, type Command } from "commander";
import {
  DEFAULT_DATABASE_PATH,
  LOG_EXPORT_FORMATS,
  SqliteLogStore,
  verifyChain,
  writeLog,
  type LogEntry,
  type LogExportFormat,
} from "@hipaa-remediate/core";
import { renderTable } from "../output/table";
import { UsageError } from "./shared-options";

interface LogOptions {
  db: string;
}

export function register(program: Command): void {
  const log = program.command("log").description("Read, export and verify the tamper-evident remediation log.");

  log
    .command("show")
    .description("Print log entries as a table, oldest first.")
    .option("--db <file>", "local SQLite store", DEFAULT_DATABASE_PATH)
    .option("--event <eventId>", "only entries about this CloudTrail event")
    .option("--control <id>", "only entries about this control")
    .option("--stage <stage>", "only entries at this stage, e.g. applied")
    .option("--last <n>", "only the newest n matching entries", parsePositiveInt)
    .action(async (options: LogOptions & { event?: string; control?: string; stage?: string; last?: number }) => {
      const store = openExisting(options.db);
      try {
        const source = options.event ? await store.byEvent(options.event) : store.read();
        const rows: LogEntry[] = [];
        for await (const entry of source) {
          if (options.control && entry.control !== options.control) continue;
          if (options.stage && entry.stage !== options.stage) continue;
          rows.push(entry);
          if (options.last && rows.length > options.last) rows.shift();
        }
        process.stdout.write(
          `${renderTable(
            ["Seq", "At", "Stage", "Control", "Resource", "Mode", "By", "Reason"],
            rows.map((e) => [
              String(e.seq),
              e.at,
              e.stage,
              e.control ?? "",
              e.resource?.arn ?? e.source ?? "",
              e.mode ?? "",
              e.decidedBy ? `${e.decidedBy.name} (${e.decidedBy.via})` : "",
              e.error ? `${e.reason ?? ""} ${e.error.name}: ${e.error.message}`.trim() : (e.reason ?? ""),
            ]),
          )}\n${rows.length} entries\n`,
        );
      } finally {
        await store.close();
      }
    });

  log
    .command("export")
    .description("Export the whole log for auditors, with each entry's hashes so the copy can be verified too.")
    .option("--db <file>", "local SQLite store", DEFAULT_DATABASE_PATH)
    .addOption(new Option("--format <format>", "export format").choices(LOG_EXPORT_FORMATS).default("json"))
    .option("--out <file>", "write to a file instead of stdout")
    .action(async (options: LogOptions & { format: LogExportFormat; out?: string }) => {
      const store = openExisting(options.db);
      try {
        const out = options.out ? createWriteStream(options.out) : process.stdout;
        const count = await writeLog(store.read(), out, options.format);
        if (options.out) {
          out.end();
          await finished(out);
          process.stderr.write(`exported ${count} entries to ${options.out}\n`);
        }
      } finally {
        await store.close();
      }
    });

  log
    .command("verify")
    .description("Check the hash chain; names the first edited, deleted, inserted or reordered entry. Exit 1 if bad.")
    .option("--db <file>", "local SQLite store", DEFAULT_DATABASE_PATH)
    .option("--expect-head <seq:hash>", "a head recorded earlier, to also catch deletion of the newest entries")
    .action(async (options: LogOptions & { expectHead?: string }) => {
      const store = openExisting(options.db);
      try {
        const expectedHead = options.expectHead ? parseHead(options.expectHead) : undefined;
        const report = await verifyChain(store.read(), expectedHead ? { expectedHead } : {});
        if (report.ok) {
          const head = report.head ? `; head ${report.head.seq}:${report.head.hash}` : "";
          process.stdout.write(`log OK: ${report.checked} entries verified${head}\n`);
          return;
        }
        const bad = report.firstBad;
        process.stdout.write(
          `log TAMPERED: ${bad ? `entry ${bad.seq} (position ${bad.position + 1}) is ${bad.problem}: ${bad.detail}` : "verification failed"}; ` +
            `${report.checked} entries before it verified\n`,
        );
        process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}

function openExisting(path: string): SqliteLogStore {
  if (path !== ":memory:") {
    try {
      // A typo in --db must not silently create and verify an empty log.
      statSync(path);
    } catch (error) {
      throw new UsageError(`no log database at ${path} (run a replay first, or pass --db)`, { cause: error });
    }
  }
  return SqliteLogStore.open(path);
}

function parseHead(text: string): { seq: number; hash: string } {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(text);
  if (!match?.[1] || !match[2]) throw new UsageError(`--expect-head must look like 42:<64 hex chars>, got "${text}"`);
  return { seq: Number(match[1]), hash: match[2] };
}

function parsePositiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`expected a positive whole number, got "${text}"`);
  return n;
}
