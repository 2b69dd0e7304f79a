import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readChangeEventsFromStream, type IngestResult } from "@hipaa-remediate/core";
import { chunkedStream, collect, fixedRecord } from "./helpers";

// Modest run counts: this runs in CI on 2 cores. `npm run fuzz` explores far more inputs for a fixed time.
const RUNS = 40;

function originOf(result: IngestResult): string {
  return result.kind === "event" ? result.event.origin : result.source;
}

const recordLine = fc.integer({ min: 0, max: 999 }).map((i) => JSON.stringify(fixedRecord(i)));
/** Text that cannot hold a value or an array of them: it opens no bracket at its start. */
const garbageLine = fc.string({ minLength: 1, maxLength: 40 }).filter((text) => !text.includes("\n") && /^[^\s{[\uFEFF]/.test(text));
const truncatedLine = fc.tuple(recordLine, fc.nat()).map(([text, cut]) => text.slice(0, 1 + (cut % (text.length - 1))));
const hostileLine = fc
  .tuple(recordLine, fc.constantFrom("1e999", "-1e999", `${"[".repeat(5000)}${"]".repeat(5000)}`))
  .map(([text, raw]) => text.replace(/"bucketName":"[^"]*"/, `"bucketName":${raw}`));
const lead = fc.constantFrom("", " ", "\t", "  \t", "\uFEFF", " \uFEFF");

describe("ingestion, property-based", () => {
  it("never throws on arbitrary bytes, plain or gzip, and gives every rejection a reason", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 3 }),
        async (bytes, gzip, sizes) => {
          const input = gzip ? gzipSync(bytes) : Buffer.from(bytes);
          const results = await collect(readChangeEventsFromStream(chunkedStream(input, sizes), "in"));
          for (const result of results) {
            if (result.kind !== "event") expect(result.reason.trim()).not.toBe("");
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("accounts for every line of JSON lines: one result each, in order, at any chunking", async () => {
    const body = fc.array(fc.tuple(lead, fc.oneof(recordLine, garbageLine, truncatedLine, hostileLine)), { minLength: 1, maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(
        recordLine,
        body,
        fc.constantFrom("\n", "\r\n"),
        fc.array(fc.integer({ min: 1, max: 211 }), { minLength: 1, maxLength: 3 }),
        async (first, rest, newline, sizes) => {
          // The first line shows the input is JSON lines; from then on every line is its own unit.
          const lines = [first, ...rest.map(([indent, text]) => `${indent}${text}`)];
          const input = Buffer.from(lines.join(newline));
          const results = await collect(readChangeEventsFromStream(chunkedStream(input, sizes), "in"));
          expect(results.map(originOf)).toEqual(lines.map((_, index) => `in#line ${index + 1}`));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
