import { once } from "node:events";
import type { Writable } from "node:stream";
import { canonicalJson } from "../support/json";
import type { Decider, LogEntry } from "./entry";

export const LOG_EXPORT_FORMATS = ["json", "jsonl", "csv"] as const;
export type LogExportFormat = (typeof LOG_EXPORT_FORMATS)[number];

type Entries = AsyncIterable<LogEntry> | Iterable<LogEntry>;

/*
 * Exports stream: one entry is held at a time and writes wait for the destination to drain, so a log of any
 * length exports in constant memory. They never end `out` (it may be stdout). Entries are written as canonical
 * JSON, byte for byte what was hashed, so an exported JSON log can be verified again with verifyChain.
 */

/** A JSON array of entries, one per line. Resolves to the number of entries written. */
export async function writeLogJson(entries: Entries, out: Writable): Promise<number> {
  let count = 0;
  for await (const entry of entries) {
    await write(out, `${count === 0 ? "[\n" : ",\n"}${canonicalJson(entry)}`);
    count += 1;
  }
  await write(out, count === 0 ? "[]\n" : "\n]\n");
  return count;
}

/** JSON lines: one entry per line. */
export async function writeLogJsonLines(entries: Entries, out: Writable): Promise<number> {
  let count = 0;
  for await (const entry of entries) {
    await write(out, `${canonicalJson(entry)}\n`);
    count += 1;
  }
  return count;
}

/** The CSV columns, in order. Tools read these by name, so the list only ever grows at the end. */
export const LOG_CSV_COLUMNS = [
  "seq",
  "at",
  "stage",
  "eventId",
  "actor",
  "control",
  "resource",
  "mode",
  "decidedBy",
  "reason",
  "planHash",
  "prevHash",
  "hash",
] as const;
export type LogCsvColumn = (typeof LOG_CSV_COLUMNS)[number];

/**
 * RFC 4180 CSV with a header row and CRLF line ends. `resource` is the resource ARN; `decidedBy` is
 * "name (id, via)". A cell that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is
 * prefixed with an apostrophe: auditors open these files in spreadsheets, and reasons come from people.
 */
export async function writeLogCsv(entries: Entries, out: Writable): Promise<number> {
  await write(out, csvRow(LOG_CSV_COLUMNS));
  let count = 0;
  for await (const entry of entries) {
    const cells = csvCells(entry);
    await write(out, csvRow(LOG_CSV_COLUMNS.map((column) => cells[column])));
    count += 1;
  }
  return count;
}

/** Writes the log in the named format. */
export function writeLog(entries: Entries, out: Writable, format: LogExportFormat): Promise<number> {
  switch (format) {
    case "json":
      return writeLogJson(entries, out);
    case "jsonl":
      return writeLogJsonLines(entries, out);
    case "csv":
      return writeLogCsv(entries, out);
  }
}

function csvCells(entry: LogEntry): Record<LogCsvColumn, string> {
  return {
    seq: String(entry.seq),
    at: entry.at,
    stage: entry.stage,
    eventId: entry.eventId ?? "",
    actor: entry.actor ?? "",
    control: entry.control ?? "",
    resource: entry.resource?.arn ?? "",
    mode: entry.mode ?? "",
    decidedBy: entry.decidedBy ? describeDecider(entry.decidedBy) : "",
    reason: entry.reason ?? "",
    planHash: entry.planHash ?? "",
    prevHash: entry.prevHash,
    hash: entry.hash,
  };
}

function describeDecider(decider: Decider): string {
  return `${decider.name} (${decider.id}, ${decider.via})`;
}

/** One RFC 4180 row with CRLF, each cell protected against spreadsheet formula injection (see writeLogCsv). */
export function csvRow(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

async function write(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, "drain");
}
