import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readChangeEventsFromStream, type IngestResult } from "@hipaa-remediate/core";
import { eventBridgeEnvelope } from "../../support/cloudtrail";
import { chunkedStream, collect, eventOf, fixedRecord } from "./helpers";

/**
 * The splitter must give the same results however the bytes are cut into chunks: a chunk boundary can fall
 * inside a string, between a backslash and the character it escapes, inside a multi-byte UTF-8 character,
 * or inside the `{"Records": [` head.
 */
function trickyRecord(index: number): Record<string, unknown> {
  return fixedRecord(index, {
    requestParameters: {
      bucketName: `phi-${index}`,
      quoted: 'say "hi" \\ and \\"escaped\\" {braces} [brackets], commas',
      endsWithBackslash: "C:\\temp\\",
      unicode: "café 漢字 😀 \u00e9",
      nested: { list: [{ a: [1, 2, { b: "}" }] }, [], {}], empty: "" },
      number: -12.5e3,
      flags: [true, false, null],
    },
  });
}

const records = Array.from({ length: 12 }, (_, i) => trickyRecord(i));

const shapes: Record<string, Buffer> = {
  "log file": Buffer.from(JSON.stringify({ Records: records })),
  "pretty log file": Buffer.from(JSON.stringify({ Records: records }, null, 2)),
  "array of envelopes": Buffer.from(JSON.stringify(records.map(eventBridgeEnvelope))),
  "JSON lines": Buffer.from(records.map((r) => JSON.stringify(r)).join("\r\n")),
  "gzip log file": gzipSync(JSON.stringify({ Records: records })),
  "JSON lines with bad lines": Buffer.from(
    [
      JSON.stringify(records[0]),
      '{"eventName": "x", "a": "unterminated',
      JSON.stringify(records[1]),
      '{"a": {"b": 1}',
      JSON.stringify(records[2]),
      "[1, 2",
    ].join("\n"),
  ),
  "log file with a syntax error": Buffer.from(
    `{"Records":[${JSON.stringify(records[0])},${JSON.stringify(records[1])} ${JSON.stringify(records[2])}]}`,
  ),
  "log file with extra keys after Records": Buffer.from(
    `{"Records":[${JSON.stringify(records[0])}], "other": {"x": "]}"}}\n${JSON.stringify(records[1])}`,
  ),
};

const chunkings: number[][] = [[1], [2], [3], [5, 1], [7, 13, 64], [4096]];

describe("chunk boundaries never change the results", () => {
  for (const [shape, bytes] of Object.entries(shapes)) {
    it(shape, async () => {
      const whole = await collect(readChangeEventsFromStream([bytes], "in"));
      expect(whole.length).toBeGreaterThan(0);
      for (const sizes of chunkings) {
        const chunked: IngestResult[] = await collect(readChangeEventsFromStream(chunkedStream(bytes, sizes), "in"));
        expect(chunked, `chunk sizes ${sizes.join(",")}`).toEqual(whole);
      }
    });
  }

  it("decodes every string exactly as JSON.parse does", async () => {
    const results = await collect(readChangeEventsFromStream(chunkedStream(shapes["log file"] ?? Buffer.alloc(0), [1]), "in"));
    expect(results.map((r) => eventOf(r).request)).toEqual(records.map((r) => r.requestParameters));
  });

  it("reports bad lines and a syntax error the same way at any chunking", async () => {
    const lines = await collect(readChangeEventsFromStream([shapes["JSON lines with bad lines"] ?? Buffer.alloc(0)], "in"));
    expect(lines.map((r) => r.kind)).toEqual(["event", "rejected", "event", "rejected", "event", "rejected", "rejected"]);
    const broken = await collect(readChangeEventsFromStream([shapes["log file with a syntax error"] ?? Buffer.alloc(0)], "in"));
    expect(broken.map((r) => r.kind)).toEqual(["event", "event", "rejected"]);
    const extra = await collect(readChangeEventsFromStream([shapes["log file with extra keys after Records"] ?? Buffer.alloc(0)], "in"));
    expect(extra.map((r) => (r.kind === "event" ? r.event.origin : r.kind))).toEqual(["in#Records[0]", "in#line 2"]);
  });
});
