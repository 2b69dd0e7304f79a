import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  LOG_CSV_COLUMNS,
  nextEntry,
  parseStoredEntry,
  verifyChain,
  writeLog,
  writeLogCsv,
  writeLogJson,
  writeLogJsonLines,
  type LogEntry,
} from "@hipaa-remediate/core";
import { sampleLogDraft } from "../../support/log-drafts";

function chainOf(...drafts: Parameters<typeof sampleLogDraft>[1][]): LogEntry[] {
  const entries: LogEntry[] = [];
  drafts.forEach((overrides, i) => entries.push(nextEntry(entries.at(-1), sampleLogDraft(i + 1, overrides))));
  return entries;
}

async function* streamed(entries: LogEntry[]): AsyncGenerator<LogEntry> {
  yield* entries;
}

/** Collects what was written; a tiny high-water mark and deferred callbacks force the writer to wait for drain. */
function slowSink(): { out: Writable; text: () => string } {
  const chunks: string[] = [];
  const out = new Writable({
    highWaterMark: 8,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString("utf8"));
      setImmediate(callback);
    },
  });
  return { out, text: () => chunks.join("") };
}

/** RFC 4180: fields separated by commas, records by CRLF, quoted fields may hold commas, quotes ("") and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      row.push(field);
      field = "";
    } else if (char === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i += 1;
    } else field += char;
  }
  if (field !== "" || row.length > 0) throw new Error("CSV does not end with CRLF");
  return rows;
}

describe("writeLogCsv", () => {
  it("writes a header and one row per entry with stable columns, quoting per RFC 4180", async () => {
    const entries = chainOf(
      {},
      { reason: 'said "no", then left\r\nfor the day', decidedBy: { id: "U1", name: "Lee, Sam", via: "web" } },
      { eventId: undefined, resource: undefined, decidedBy: undefined, mode: "auto" },
    );
    const { out, text } = slowSink();
    expect(await writeLogCsv(streamed(entries), out)).toBe(3);

    const [header, ...rows] = parseCsv(text());
    expect(header).toEqual([...LOG_CSV_COLUMNS]);
    expect(rows).toHaveLength(3);
    const second = rows[1] ?? [];
    const cell = (row: string[], column: (typeof LOG_CSV_COLUMNS)[number]) => row[LOG_CSV_COLUMNS.indexOf(column)];
    expect(cell(second, "reason")).toBe('said "no", then left\r\nfor the day');
    expect(cell(second, "decidedBy")).toBe("Lee, Sam (U1, web)");
    expect(cell(second, "resource")).toBe("arn:aws:s3:::phi-records-2");
    expect(cell(second, "seq")).toBe("2");
    expect(cell(second, "prevHash")).toBe(entries[0]?.hash);
    expect(cell(second, "hash")).toBe(entries[1]?.hash);
    const third = rows[2] ?? [];
    expect([cell(third, "eventId"), cell(third, "resource"), cell(third, "decidedBy"), cell(third, "mode")]).toEqual(["", "", "", "auto"]);
  });

  it("defuses cells a spreadsheet would run as formulas", async () => {
    const entries = chainOf({ reason: '=HYPERLINK("http://evil","x")' }, { actor: "@SUM(A1)" });
    const { out, text } = slowSink();
    await writeLogCsv(entries, out);
    const [, first, second] = parseCsv(text());
    expect(first?.[LOG_CSV_COLUMNS.indexOf("reason")]).toBe('\'=HYPERLINK("http://evil","x")');
    expect(second?.[LOG_CSV_COLUMNS.indexOf("actor")]).toBe("'@SUM(A1)");
  });
});

describe("writeLogJson and writeLogJsonLines", () => {
  it("writes a JSON array that parses back to the entries and still verifies", async () => {
    const entries = chainOf({}, { details: { note: 'line\nbreak, "quoted"' } }, {});
    const { out, text } = slowSink();
    expect(await writeLogJson(streamed(entries), out)).toBe(3);
    const parsed: unknown = JSON.parse(text());
    expect(parsed).toEqual(entries);
    const reloaded = (parsed as unknown[]).map((value, i) => parseStoredEntry(value, i + 1));
    expect(await verifyChain(reloaded)).toMatchObject({ ok: true, checked: 3 });
  });

  it("writes an empty array for an empty log", async () => {
    const { out, text } = slowSink();
    expect(await writeLogJson([], out)).toBe(0);
    expect(JSON.parse(text())).toEqual([]);
  });

  it("writes one entry per line", async () => {
    const entries = chainOf({}, {});
    const { out, text } = slowSink();
    expect(await writeLogJsonLines(entries, out)).toBe(2);
    const lines = text().split("\n");
    expect(lines.at(-1)).toBe("");
    expect(lines.slice(0, -1).map((line) => JSON.parse(line) as unknown)).toEqual(entries);
  });

  it("writeLog picks the writer by format and leaves the stream open", async () => {
    const entries = chainOf({});
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    await writeLog(entries, out, "jsonl");
    await writeLog(entries, out, "csv");
    expect(out.writableEnded).toBe(false);
    expect(text.startsWith(`{"actor":`)).toBe(true);
    expect(text).toContain(`\n${LOG_CSV_COLUMNS.join(",")}\r\n1,`);
  });
});
