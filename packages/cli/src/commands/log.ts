import { createWriteStream, existsSync, rmSync, statSync } from "node:fs";
import { finished } from "node:stream/promises";
import { Option, type Command } from "commander";
import {
  anchorsPathFor,
  AnchorStoreError,
  createAwsClients,
  DEFAULT_DATABASE_PATH,
  FileAnchorStore,
  LOG_EXPORT_FORMATS,
  publishHead,
  readExportFiles,
  RestoreError,
  S3AnchorStore,
  SqliteLogStore,
  verifyChain,
  writeLog,
  type AnchorStore,
  type LogEntry,
  type LogExportFormat,
  type VerifyReport,
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
    .description(
      "Check the hash chain and every published anchor; names the first edited, deleted, inserted or reordered entry, " +
        "or the first anchor the log no longer matches. Exit 1 if bad.",
    )
    .option("--db <file>", "local SQLite store", DEFAULT_DATABASE_PATH)
    .option("--anchors <file|s3://bucket>", "where the anchors are (default: <db without .db>.anchors.jsonl next to the db)")
    .option("--chain <name>", "with s3:// anchors: the log's chain name", undefined)
    .option("--expect-head <seq:hash>", "a head recorded earlier, checked like one more anchor")
    .action(async (options: LogOptions & AnchorOptions & { expectHead?: string }) => {
      const expectedHead = options.expectHead ? parseHead(options.expectHead) : undefined;
      const anchorStore = await anchorStoreFor(options);
      const store = openExisting(options.db);
      try {
        let anchors;
        try {
          anchors = await anchorStore.list();
        } catch (error) {
          if (!(error instanceof AnchorStoreError)) throw error;
          process.stdout.write(`log UNVERIFIABLE: ${error.message}\n`);
          process.exitCode = 1;
          return;
        }
        const report = await verifyChain(store.read(), { anchors, ...(expectedHead ? { expectedHead } : {}) });
        process.stdout.write(describeReport(report, anchorStore.location));
        if (!report.ok) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });

  log
    .command("anchor")
    .description("Publish the log's current head as an anchor now (runs that append entries do this themselves).")
    .option("--db <file>", "local SQLite store", DEFAULT_DATABASE_PATH)
    .option("--anchors <file>", "the anchors file (default: next to the db)")
    .action(async (options: LogOptions & { anchors?: string }) => {
      const store = openExisting(options.db);
      try {
        const anchors = new FileAnchorStore(options.anchors ?? anchorsPathFor(options.db));
        const anchor = await publishHead(store, anchors, () => new Date());
        process.stdout.write(
          anchor
            ? `anchored seq ${anchor.seq}:${anchor.hash} at ${anchor.at} in ${anchors.location}\n`
            : "the log is empty: nothing to anchor\n",
        );
      } finally {
        await store.close();
      }
    });

  log
    .command("restore")
    .description(
      "Rebuild a log from JSON lines exports (log export --format jsonl, or the audit bucket's exports/ folder) into a " +
        "new database; then run `log verify --db <new> --anchors <the original anchors>`.",
    )
    .requiredOption("--from <paths...>", "export files, or folders holding *.jsonl exports")
    .requiredOption("--db <file>", "the new SQLite database to create")
    .action(async (options: { from: string[]; db: string }) => {
      if (existsSync(options.db)) throw new UsageError(`${options.db} already exists: restore into a new database file`);
      const store = SqliteLogStore.open(options.db);
      try {
        const { restored, duplicates } = await store.restore(readExportFiles(options.from));
        process.stdout.write(
          `restored ${restored} entries into ${options.db}${duplicates ? ` (${duplicates} repeated in overlapping exports, kept once)` : ""}; ` +
            `verify it against the anchors: hipaa-remediate log verify --db ${options.db} --anchors <anchors>\n`,
        );
      } catch (error) {
        // A half-restored database would look like a shorter log: leave none behind.
        await store.close();
        rmSync(options.db, { force: true });
        if (error instanceof RestoreError) throw new UsageError(error.message, { cause: error });
        throw error;
      }
      await store.close();
    });
}

interface AnchorOptions {
  anchors?: string;
  chain?: string;
}

/** The anchors file next to the db, another file, or an s3:// bucket (read with the standard AWS configuration). */
async function anchorStoreFor(options: LogOptions & AnchorOptions): Promise<AnchorStore> {
  const location = options.anchors ?? anchorsPathFor(options.db);
  const bucket = /^s3:\/\/([^/]+)\/?$/.exec(location)?.[1];
  if (location.startsWith("s3://") && !bucket) throw new UsageError(`--anchors must be s3://<bucket>, got "${location}"`);
  if (!bucket) return new FileAnchorStore(location);
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  const endpoint = process.env.AWS_ENDPOINT_URL;
  const client = await createAwsClients({ userAgent: "hipaa-remediate-log-verify", ...(endpoint ? { endpoint } : {}) }).s3(region);
  return new S3AnchorStore({ client, bucket, ...(options.chain ? { chain: options.chain } : {}) });
}

function describeReport(report: VerifyReport, anchorsLocation: string): string {
  const anchors = report.anchors;
  const anchorLine =
    anchors === undefined
      ? ""
      : anchors.total === 0
        ? `anchors: none in ${anchorsLocation}; a deleted tail or a rewrite with recomputed hashes cannot be detected\n`
        : `anchors: ${anchors.matched} of ${anchors.total} matched${anchors.latest ? ` (newest: seq ${anchors.latest.seq}, published ${anchors.latest.at})` : ""} in ${anchorsLocation}\n`;
  if (report.ok) {
    const head = report.head ? `; head ${report.head.seq}:${report.head.hash}` : "";
    return `log OK: ${report.checked} entries verified${head}\n${anchorLine}`;
  }
  const bad = report.firstBad;
  return (
    `log TAMPERED: ${bad ? `entry ${bad.seq} (position ${bad.position + 1}) is ${bad.problem}: ${bad.detail}` : "verification failed"}; ` +
    `${report.checked} entries before it verified\n${anchorLine}`
  );
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

export function parseHead(text: string): { seq: number; hash: string } {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(text);
  if (!match?.[1] || !match[2]) throw new UsageError(`--expect-head must look like 42:<64 hex chars>, got "${text}"`);
  return { seq: Number(match[1]), hash: match[2] };
}

function parsePositiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`expected a positive whole number, got "${text}"`);
  return n;
}
