import { writeFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import {
  buildComplianceReport,
  DEFAULT_DATABASE_PATH,
  normaliseExpiry,
  renderReportCsv,
  renderReportHtml,
  renderReportJson,
  type ChainLink,
  type ComplianceReport,
} from "@hipaa-remediate/core";
import { openReportSources, REPORT_STORES, type StoreFlags } from "../report/sources";
import { TOOL_VERSION } from "../report/version";
import { parseHead } from "./log";
import { UsageError } from "./shared-options";

export const REPORT_FORMATS = ["html", "csv", "json"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

interface ReportOptions extends StoreFlags {
  format: ReportFormat;
  since?: Date;
  until?: Date;
  out?: string;
  expectHead?: ChainLink;
}

export function register(program: Command): void {
  program
    .command("report")
    .description(
      "Write the HIPAA evidence report: per Security Rule section, the controls and their modes, the findings and how " +
        "each ended, time to remediate, open proposals, expiring exemptions and the latest sweep, under a header with " +
        "the log's verification result. Exits 1 (after writing the report) when the log fails verification.",
    )
    .addOption(
      new Option("--format <format>", "html (printable, self-contained), csv or json (for GRC tools)")
        .choices(REPORT_FORMATS)
        .default("html"),
    )
    .option("--since <date>", "findings detected from this date (YYYY-MM-DD, UTC) or date-time with a zone", parseSince)
    .option("--until <date>", "findings detected up to and including this date, or before this date-time", parseUntil)
    .option("--out <file>", "write to a file instead of stdout")
    .addOption(new Option("--store <store>", "where the log, proposals and exemptions are").choices(REPORT_STORES).default("sqlite"))
    .option("--db <file>", "local SQLite store (--store sqlite)", DEFAULT_DATABASE_PATH)
    .addOption(new Option("--log-table <name>", "DynamoDB log table (--store dynamodb)").env("LOG_TABLE"))
    .addOption(new Option("--proposals-table <name>", "DynamoDB proposals table (--store dynamodb)").env("PROPOSALS_TABLE"))
    .addOption(new Option("--exemptions-table <name>", "DynamoDB exemptions table (--store dynamodb)").env("EXEMPTIONS_TABLE"))
    .addOption(new Option("--endpoint <url>", "AWS endpoint, e.g. a local emulator").env("AWS_ENDPOINT_URL"))
    .option("--region <region>", "region of the DynamoDB tables (default: AWS_REGION or us-east-1)")
    .option("--policy <file>", "the policy the controls' modes are read from (default: the built-in policy)")
    .option("--expect-head <seq:hash>", "a head recorded earlier, to also catch deletion of the newest entries", parseHead)
    .action(async (options: ReportOptions) => {
      if (options.since && options.until && options.since >= options.until) {
        throw new UsageError(`--since (${options.since.toISOString()}) must be before --until (${options.until.toISOString()})`);
      }
      const opened = await openReportSources(options);
      let report: ComplianceReport;
      try {
        report = await buildComplianceReport(opened.sources, {
          now: new Date(),
          toolVersion: TOOL_VERSION,
          store: opened.store,
          policySource: opened.policySource,
          ...(options.since ? { since: options.since } : {}),
          ...(options.until ? { until: options.until } : {}),
          ...(options.expectHead ? { expectedHead: options.expectHead } : {}),
        });
      } finally {
        await opened.close();
      }
      const text = render(report, options.format);
      if (options.out) {
        await writeFile(options.out, text, "utf8");
        process.stderr.write(
          `wrote the ${options.format} report to ${options.out}: ${report.totals.findings} findings, ${report.header.entriesRead} log entries\n`,
        );
      } else {
        process.stdout.write(text);
      }
      const { chain } = report.header;
      if (!chain.ok) {
        process.stderr.write(
          `hipaa-remediate: the log FAILED verification${chain.firstBad ? `: entry ${chain.firstBad.seq} is ${chain.firstBad.problem}: ${chain.firstBad.detail}` : ""}; the report says so in its header\n`,
        );
        process.exitCode = 1;
      }
    });
}

export function render(report: ComplianceReport, format: ReportFormat): string {
  switch (format) {
    case "html":
      return renderReportHtml(report);
    case "csv":
      return renderReportCsv(report);
    case "json":
      return renderReportJson(report);
  }
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A date is the start of that day (UTC); a date-time needs its zone, as exemption expiries do. */
function parseSince(text: string): Date {
  const endOfDay = normaliseExpiry(text);
  if (endOfDay === undefined) throw new UsageError(`--since must be a date (2026-11-01) or a date-time with a zone, got "${text}"`);
  return DATE_ONLY.test(text) ? new Date(`${text}T00:00:00.000Z`) : new Date(endOfDay);
}

/** A date includes that whole day (UTC): the period ends where the next day begins. */
function parseUntil(text: string): Date {
  const normalised = normaliseExpiry(text);
  if (normalised === undefined) throw new UsageError(`--until must be a date (2026-11-30) or a date-time with a zone, got "${text}"`);
  const instant = new Date(normalised);
  return DATE_ONLY.test(text) ? new Date(instant.getTime() + 1) : instant;
}
