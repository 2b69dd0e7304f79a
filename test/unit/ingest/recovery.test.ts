import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readChangeEvents, readChangeEventsFromStream, type IngestResult } from "@hipaa-remediate/core";
import { chunkedStream, collect, eventOf, fixedRecord, kindsOf, reasonOf, tempDir } from "./helpers";

const line = (index: number) => JSON.stringify(fixedRecord(index));
const chunkings: number[][] = [[1], [2], [3], [7, 13, 64], [1 << 20]];

function originOf(result: IngestResult): string {
  return result.kind === "event" ? result.event.origin : result.source;
}

/** Results at every chunking, checked to be the same; the whole-buffer run is returned. */
async function resultsAtEveryChunking(text: string): Promise<IngestResult[]> {
  const bytes = Buffer.from(text);
  const whole = await collect(readChangeEventsFromStream([bytes], "in"));
  for (const sizes of chunkings) {
    expect(await collect(readChangeEventsFromStream(chunkedStream(bytes, sizes), "in")), `chunk sizes ${sizes.join(",")}`).toEqual(whole);
  }
  return whole;
}

describe("JSON lines: every line yields exactly one result, whatever came before it", () => {
  it("after malformed lines, and for lines led by spaces, a tab or a byte-order mark", async () => {
    const text = [
      line(1),
      "not json",
      "also: not json",
      line(2),
      `   ${line(3)}`,
      `\t${line(4)}`,
      `\uFEFF${line(5)}`,
      "}{ garbage",
      line(6),
    ].join("\n");
    const results = await resultsAtEveryChunking(text);
    expect(results.map(originOf)).toEqual(Array.from({ length: 9 }, (_, i) => `in#line ${i + 1}`));
    expect(kindsOf(results)).toEqual(["event", "rejected", "rejected", "event", "event", "event", "event", "rejected", "event"]);
    expect(reasonOf(results[1])).toMatch(/^line 2: not JSON: .*found 'n'; the rest of the line was skipped$/);
  });

  it("after a line that opens a bracket or string it never closes, however the next lines are indented", async () => {
    const text = [
      line(1),
      '{"eventName": "PutBucketAcl", "requestParameters": {',
      `  ${line(2)}`,
      '{"eventName": "x", "a": "never closed',
      `\t${line(3)}`,
      `[${line(4)},`,
      `\uFEFF${line(5)}`,
      line(6),
    ].join("\n");
    const results = await resultsAtEveryChunking(text);
    expect(results.map((r) => `${r.kind} ${originOf(r)}`)).toEqual([
      "event in#line 1",
      "rejected in#line 2",
      "event in#line 3",
      "rejected in#line 4",
      "event in#line 5",
      "event in#line 6.[0]",
      "rejected in#line 6.[1]",
      "event in#line 7",
      "event in#line 8",
    ]);
    expect(reasonOf(results[1])).toBe("line 2: invalid JSON: '{' or '[' is still open at the end of line 2");
    expect(reasonOf(results[3])).toBe("line 4: invalid JSON: a string is not closed at the end of line 4");
    expect(reasonOf(results[6])).toBe("line 6: invalid JSON: the array is still open at the end of line 6");
  });

  it("when the very first line is the one left open", async () => {
    const results = await resultsAtEveryChunking(['{"eventName": "x", "a": [', `  ${line(1)}`, line(2)].join("\n"));
    expect(kindsOf(results)).toEqual(["rejected", "event", "event"]);
  });

  it("a log file on one line that breaks off loses only its line", async () => {
    const broken = `{"Records":[${line(1)},${line(2).slice(0, 40)}`;
    const results = await resultsAtEveryChunking([line(0), broken, `{"Records":[${line(3)}]}`].join("\n"));
    expect(results.map((r) => `${r.kind} ${originOf(r)}`)).toEqual([
      "event in#line 1",
      "event in#line 2.Records[0]",
      "rejected in#line 2.Records[1]",
      "event in#line 3.Records[0]",
    ]);
  });

  it("still reads pretty-printed values, one after another, and breaks one off only where a new value clearly starts", async () => {
    const pretty = (index: number) =>
      JSON.stringify(fixedRecord(index, { requestParameters: { bucketName: `b${index}`, list: [{}, [], { a: [1] }] } }), null, 2);
    const text = [pretty(1), pretty(2), '{\n  "eventName": "x",\n  "requestParameters": {', `    ${line(3)}`].join("\n");
    const results = await resultsAtEveryChunking(text);
    expect(kindsOf(results)).toEqual(["event", "event", "rejected", "event"]);
    expect(eventOf(results[3]).id).toBe("00000000-0000-4000-8000-000000000003");
  });
});

describe("gzip input is decoded as far as it is valid", () => {
  const dir = tempDir();
  const member = (from: number, count: number) =>
    gzipSync(JSON.stringify({ Records: Array.from({ length: count }, (_, i) => fixedRecord(from + i)) }));
  const first = member(0, 400);
  const second = member(400, 400);

  async function read(name: string, bytes: Buffer): Promise<IngestResult[]> {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return collect(readChangeEvents([path]));
  }

  /** What `gzip -dc` recovers, as the reference. */
  function gzipRecovers(name: string): number {
    const out = spawnSync("gzip", ["-dc", join(dir, name)], { maxBuffer: 1 << 26 });
    return out.stdout.length;
  }

  it("reads every member of a multi-member file", async () => {
    const results = await read("multi.json.gz", Buffer.concat([first, second]));
    expect(kindsOf(results)).toEqual(Array(800).fill("event"));
  });

  it("keeps every record before trailing bytes and rejects the bytes with a reason", async () => {
    const results = await read("trailing.json.gz", Buffer.concat([first, second, Buffer.from("trailing garbage\n")]));
    expect(results.filter((r) => r.kind === "event")).toHaveLength(800);
    expect(results.filter((r) => r.kind === "rejected").map(reasonOf)).toEqual([
      expect.stringMatching(
        /the bytes after the last complete gzip member \(from compressed byte \d+\) are not gzip data.*the rest of the file was skipped$/,
      ),
    ]);
    expect(gzipRecovers("trailing.json.gz")).toBeGreaterThan(0);
  });

  it("ignores zero padding after the last member", async () => {
    const results = await read("padded.json.gz", Buffer.concat([first, Buffer.alloc(512)]));
    expect(kindsOf(results)).toEqual(Array(400).fill("event"));
  });

  it("keeps the first member's records when the second is cut short or corrupt", async () => {
    const cut = await read("cut.json.gz", Buffer.concat([first, second.subarray(0, second.length - 100)]));
    expect(cut.filter((r) => r.kind === "event").length).toBeGreaterThanOrEqual(400);
    expect(cut.at(-1)).toMatchObject({ kind: "rejected", reason: expect.stringMatching(/gzip data is cut short inside a gzip member/) });
    const flipped = Buffer.from(second);
    for (let i = 200; i < 260; i++) flipped[i] = (flipped[i] ?? 0) ^ 0x5a;
    const corrupt = await read("corrupt.json.gz", Buffer.concat([first, flipped]));
    expect(corrupt.slice(0, 400).map((r) => r.kind)).toEqual(Array(400).fill("event"));
    expect(corrupt.some((r) => r.kind === "rejected" && /gzip/.test(r.reason))).toBe(true);
  });
});
