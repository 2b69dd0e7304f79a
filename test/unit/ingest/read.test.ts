import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  DIGEST_REASON,
  InputPathError,
  readChangeEvents,
  readChangeEventsFromStream,
  type IngestResult,
  type IngestProgress,
} from "@hipaa-remediate/core";
import { eventBridgeEnvelope } from "../../support/cloudtrail";
import { collect, eventOf, eventsOf, fixedRecord, kindsOf, reasonOf, tempDir } from "./helpers";

const dir = tempDir();

function write(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, content);
  return path;
}

function sourceOf(result: IngestResult): string {
  return result.kind === "event" ? result.event.origin : result.source;
}

const logFile = JSON.stringify({
  Records: [
    fixedRecord(0),
    fixedRecord(1, { errorCode: "AccessDenied" }),
    fixedRecord(2, { eventSource: "ec2.amazonaws.com", eventName: "RunInstances" }),
  ],
});

describe("readChangeEvents: accepted shapes", () => {
  it("reads a CloudTrail log file, one result per record, located by Records index", async () => {
    const path = write("plain/123456789012_CloudTrail_us-east-1_20240101T0000Z_a.json", logFile);
    const results = await collect(readChangeEvents([path]));
    expect(kindsOf(results)).toEqual(["event", "ignored", "event"]);
    expect(results.map(sourceOf)).toEqual([`${path}#Records[0]`, `${path}#Records[1]`, `${path}#Records[2]`]);
    expect(eventOf(results[2])).toMatchObject({ name: "RunInstances", id: "00000000-0000-4000-8000-000000000002" });
  });

  it("detects gzip by its magic bytes, whatever the file is called", async () => {
    const gz = write("gz/log.json.gz", gzipSync(logFile));
    const misnamed = write("gz/really-gzip.json", gzipSync(logFile));
    const plainNamedGz = write("gz/really-plain.json.gz", logFile);
    for (const path of [gz, misnamed, plainNamedGz]) {
      const results = await collect(readChangeEvents([path]));
      expect(kindsOf(results), path).toEqual(["event", "ignored", "event"]);
    }
  });

  it("walks the AWSLogs layout in sorted order and ignores digest files", async () => {
    const root = join(dir, "walk");
    const day = (d: string) => `AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/${d}`;
    const later = JSON.stringify({ Records: [fixedRecord(20)] });
    const earlier = JSON.stringify({ Records: [fixedRecord(10), fixedRecord(11)] });
    write(`walk/${day("02")}/123456789012_CloudTrail_us-east-1_20240102T0000Z_b.json.gz`, gzipSync(later));
    write(`walk/${day("01")}/123456789012_CloudTrail_us-east-1_20240101T0005Z_a.json.gz`, gzipSync(earlier));
    const digest = write(
      "walk/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/01/01/123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20240101T010000Z.json.gz",
      gzipSync(JSON.stringify({ digestStartTime: "2024-01-01T00:00:00Z", digestEndTime: "2024-01-01T01:00:00Z", logFiles: [] })),
    );
    const results = await collect(readChangeEvents([root]));
    expect(results.map((r) => (r.kind === "event" ? r.event.id.slice(-2) : r.kind))).toEqual(["10", "11", "20", "ignored"]);
    expect(results[3]).toEqual({ kind: "ignored", source: digest, reason: DIGEST_REASON });
  });

  it("reads a JSON array of records and envelopes", async () => {
    const path = write("array.json", JSON.stringify([fixedRecord(30), eventBridgeEnvelope(fixedRecord(31))], null, 2));
    const results = await collect(readChangeEvents([path]));
    expect(results.map(sourceOf)).toEqual([`${path}#[0]`, `${path}#[1]`]);
    expect(eventsOf(results).map((e) => e.id.slice(-2))).toEqual(["30", "31"]);
  });

  it("reads JSON lines of records, envelopes and log files, located by line", async () => {
    const lines = [
      JSON.stringify(fixedRecord(40)),
      JSON.stringify(eventBridgeEnvelope(fixedRecord(41))),
      "",
      JSON.stringify({ Records: [fixedRecord(42), fixedRecord(43)] }),
    ].join("\n");
    const path = write("lines.jsonl", `${lines}\n`);
    const results = await collect(readChangeEvents([path]));
    expect(results.map(sourceOf)).toEqual([`${path}#line 1`, `${path}#line 2`, `${path}#line 4.Records[0]`, `${path}#line 4.Records[1]`]);
  });

  it("reads a single pretty-printed envelope and a single record", async () => {
    const envelope = write("single-envelope.json", JSON.stringify(eventBridgeEnvelope(fixedRecord(50)), null, 4));
    const record = write("single-record.json", `\uFEFF${JSON.stringify(fixedRecord(51), null, "\t")}\r\n`);
    const results = await collect(readChangeEvents([envelope, record]));
    expect(results.map(sourceOf)).toEqual([`${envelope}#line 1`, `${record}#line 1`]);
    expect(kindsOf(results)).toEqual(["event", "event"]);
  });

  it("reads a stream such as stdin", async () => {
    const stdin = Readable.from([`${JSON.stringify(fixedRecord(60))}\n`, `${JSON.stringify(fixedRecord(61))}\n`]);
    const results = await collect(readChangeEventsFromStream(stdin, "-"));
    expect(results.map(sourceOf)).toEqual(["-#line 1", "-#line 2"]);
  });

  it('reads "-" from the process\'s stdin', () => {
    const script =
      'import { readChangeEvents } from "@hipaa-remediate/core"; for await (const r of readChangeEvents(["-"])) console.log(r.kind, r.kind === "event" ? r.event.origin : r.source);';
    const input = `${JSON.stringify(fixedRecord(62))}\nnot json\n${JSON.stringify(fixedRecord(63, { errorCode: "AccessDenied" }))}\n`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: resolve(import.meta.dirname, "../../.."),
      input,
      encoding: "utf8",
    });
    expect(child.stderr).toBe("");
    expect(child.stdout.trim().split("\n")).toEqual(["event -#line 1", "rejected -#line 2", "ignored -#line 3"]);
  });

  it("reports progress with running totals", async () => {
    const path = write("progress.json", logFile);
    const seen: IngestProgress[] = [];
    const results = await collect(readChangeEvents([path, path], { onProgress: (p) => seen.push(p) }));
    expect(seen.at(-1)).toEqual({ bytes: 2 * Buffer.byteLength(logFile), records: results.length, files: 2 });
  });
});

describe("readChangeEvents: bad input", () => {
  it("rejects a malformed line on its own and reads the lines after it", async () => {
    const lines = [
      JSON.stringify(fixedRecord(70)),
      '{"eventName": }',
      '{"eventName": "PutBucketAcl", "requestParameters": {"bucketName": "x"}',
      '{"eventName": "PutBucketAcl", "eventSource": "s3.amazonaws.com", "awsRegion": "us-east-',
      "this is not JSON",
      JSON.stringify(fixedRecord(75)),
    ].join("\n");
    const path = write("broken-lines.jsonl", lines);
    const results = await collect(readChangeEvents([path]));
    expect(kindsOf(results)).toEqual(["event", "rejected", "rejected", "rejected", "rejected", "event"]);
    expect(results.map(sourceOf)).toEqual([1, 2, 3, 4, 5, 6].map((line) => `${path}#line ${line}`));
    expect(reasonOf(results[1])).toBe("line 2: invalid JSON (Unexpected token '}')");
    expect(reasonOf(results[2])).toBe("line 3: invalid JSON: '{' or '[' is still open at the end of line 3");
    expect(reasonOf(results[3])).toBe("line 4: invalid JSON: a string is not closed at the end of line 4");
    expect(reasonOf(results[4])).toMatch(/^line 5: not JSON: expected '\{' or '\[' at byte \d+, found 't'/);
    expect(eventOf(results[5]).id).toMatch(/75$/);
  });

  it("keeps the records before a syntax error in a log file and rejects the rest, naming file, byte and line", async () => {
    const first = JSON.stringify(fixedRecord(80));
    const text = `{"Records": [\n${first},\n${JSON.stringify(fixedRecord(81))}\n${JSON.stringify(fixedRecord(82))}]}`;
    const path = write("missing-comma.json", text);
    const results = await collect(readChangeEvents([path]));
    expect(kindsOf(results)).toEqual(["event", "event", "rejected"]);
    const offset = text.lastIndexOf("\n{") + 1;
    expect(results[2]).toEqual({
      kind: "rejected",
      source: `${path}#Records[2]`,
      reason: `${path}: invalid JSON at byte ${offset} (line 4): expected ',' or ']' after Records[1], found '{'; the rest of the file was skipped`,
    });
  });

  it("keeps what a truncated gzip file held and rejects the rest without throwing", async () => {
    const full = gzipSync(JSON.stringify({ Records: Array.from({ length: 200 }, (_, i) => fixedRecord(i)) }));
    const path = write("truncated.json.gz", full.subarray(0, Math.floor(full.length / 2)));
    const results = await collect(readChangeEvents([path]));
    const last = results.at(-1);
    expect(last?.kind).toBe("rejected");
    expect(reasonOf(last)).toMatch(
      new RegExp(
        `^${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: gzip data is cut short inside a gzip member: it ends at compressed byte ${Math.floor(full.length / 2)} after \\d+ bytes of data \\(line 1\\); Records\\[\\d+\\] and the rest of the file were skipped$`,
      ),
    );
    const events = eventsOf(results);
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThan(200);
    expect(results).toHaveLength(events.length + 1);
  });

  it("reports a plain log file cut short", async () => {
    const path = write("cut.json", logFile.slice(0, logFile.length - 40));
    const results = await collect(readChangeEvents([path]));
    expect(kindsOf(results)).toEqual(["event", "ignored", "rejected"]);
    expect(reasonOf(results[2])).toMatch(/inside Records\[2\]: the file is truncated$/);
  });

  it("names the path of a field of the wrong type inside a log file", async () => {
    const path = write(
      "wrong-type.json",
      JSON.stringify({ Records: [fixedRecord(90), { ...fixedRecord(91), eventName: 5 }, fixedRecord(92)] }),
    );
    const results = await collect(readChangeEvents([path]));
    expect(kindsOf(results)).toEqual(["event", "rejected", "event"]);
    expect(results[1]).toEqual({
      kind: "rejected",
      source: `${path}#Records[1]`,
      reason: "Records[1].eventName: expected a string, got number",
    });
  });

  it("rejects files that are not JSON, zip archives included, and yields nothing for an empty file", async () => {
    const text = write("notes.md", "# Notes\n\nNothing here is JSON.\n");
    const zip = write("archive.zip", Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00]));
    const empty = write("empty.json", "");
    const results = await collect(readChangeEvents([text, zip, empty]));
    // Each line of text is its own rejection: none of them is lost inside another's.
    expect(kindsOf(results)).toEqual(["rejected", "rejected", "rejected"]);
    expect(results[0]).toMatchObject({ source: `${text}#line 1`, reason: expect.stringMatching(/^line 1: not JSON/) });
    expect(results[1]).toMatchObject({ source: `${text}#line 3`, reason: expect.stringMatching(/^line 3: not JSON/) });
    expect(results[2]).toMatchObject({ source: zip, reason: expect.stringMatching(/a zip archive/) });
  });

  it("throws InputPathError for a missing path before yielding anything", async () => {
    const good = write("good.json", logFile);
    const missing = join(dir, "no-such-file.json");
    const iterator = readChangeEvents([good, missing])[Symbol.asyncIterator]();
    const error = await iterator.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputPathError);
    expect(error).toMatchObject({ path: missing, message: expect.stringContaining("ENOENT") });
    expect((error as InputPathError).cause).toMatchObject({ code: "ENOENT" });
  });
});
