import { describe, expect, it } from "vitest";
import { ingestValue, parseSqsRecord, readChangeEventsFromStream } from "@hipaa-remediate/core";
import { eventBridgeEnvelope } from "../../support/cloudtrail";
import { collect, eventOf, fixedRecord, kindsOf, reasonOf } from "./helpers";

/** A record as text, with `raw` spliced in as the JSON text of requestParameters.hostile (JSON.stringify cannot write 1e999). */
function recordWith(raw: string, index: number, withoutId = false): string {
  const record = fixedRecord(index, { requestParameters: { bucketName: `bucket-${index}`, hostile: "HOSTILE" } });
  if (withoutId) delete record.eventID;
  return JSON.stringify(record).replace('"HOSTILE"', raw);
}

const deepArrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

async function resultsOf(text: string) {
  return collect(readChangeEventsFromStream([Buffer.from(text)], "in"));
}

describe("values the engine cannot carry become one rejection naming the field", () => {
  const hostile: Record<string, string> = {
    "a number that overflows to Infinity": "1e999",
    "a negative one": "-1e400",
    "an integer with 400 digits": "9".repeat(400),
    "100k nested arrays": deepArrays(100_000),
    "100k nested objects": `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`,
  };

  for (const [name, raw] of Object.entries(hostile)) {
    it(`${name}, with or without an eventID, in JSON lines; the next record still counts`, async () => {
      const text = [recordWith(raw, 1), recordWith(raw, 2, true), JSON.stringify(fixedRecord(3))].join("\n");
      const results = await resultsOf(text);
      expect(kindsOf(results)).toEqual(["rejected", "rejected", "event"]);
      for (const result of results.slice(0, 2)) {
        expect(reasonOf(result)).toMatch(
          /^requestParameters\.hostile(\.a|\[0\])*(…\(\d+ more levels\))?: (a number too large for JSON|nested deeper than 64 levels)/,
        );
      }
      expect(eventOf(results[2]).id).toBe("00000000-0000-4000-8000-000000000003");
    });
  }

  it("inside a log file, only the record that holds it is rejected, by its Records path", async () => {
    const text = `{"Records":[${JSON.stringify(fixedRecord(1))},${recordWith("1e999", 2)},${recordWith(deepArrays(5000), 3)},${JSON.stringify(fixedRecord(4))}]}`;
    const results = await resultsOf(text);
    expect(kindsOf(results)).toEqual(["event", "rejected", "rejected", "event"]);
    expect(reasonOf(results[1])).toMatch(/^Records\[1\]\.requestParameters\.hostile: a number too large/);
    expect(reasonOf(results[2])).toMatch(
      /^Records\[2\]\.requestParameters\.hostile\[0\]\[0\]\[0\]\[0\]…\(\d+ more levels\): nested deeper than 64 levels/,
    );
  });

  it("inside an EventBridge envelope, the path goes through detail", () => {
    const envelope = JSON.stringify(eventBridgeEnvelope(fixedRecord(1, { requestParameters: { bucketName: "b", size: 1 } }))).replace(
      '"size":1',
      '"size":1e999',
    );
    const results = ingestValue(JSON.parse(envelope), "post");
    expect(kindsOf(results)).toEqual(["rejected"]);
    expect(reasonOf(results[0])).toMatch(/^detail\.requestParameters\.size: a number too large/);
  });

  it("arrays nested 100k deep around records are one rejection, not a stack overflow", async () => {
    for (const text of [
      deepArrays(100_000),
      `{"Records": ${deepArrays(100_000)}}`,
      `[${deepArrays(100_000)}, ${JSON.stringify(fixedRecord(1))}]`,
    ]) {
      const results = await resultsOf(text);
      const rejected = results.filter((r) => r.kind === "rejected");
      expect(rejected).toHaveLength(1);
      expect(reasonOf(rejected[0])).toMatch(/arrays or log files nested more than 64 levels deep/);
    }
    expect(kindsOf(ingestValue(JSON.parse(deepArrays(100_000)), "post"))).toEqual(["rejected"]);
  });

  it("in an SQS message body, the path goes through body", () => {
    const body = recordWith("1e999", 1);
    const result = parseSqsRecord({ messageId: "m-1", body, eventSource: "aws:sqs" });
    expect(result).toEqual({
      kind: "rejected",
      source: "sqs:m-1",
      reason: expect.stringMatching(/^body\.requestParameters\.hostile: a number too large/),
    });
  });

  it("keeps ordinary large and precise numbers", async () => {
    const results = await resultsOf(recordWith("1.7976931348623157e308", 1));
    expect(eventOf(results[0]).request).toMatchObject({ hostile: Number.MAX_VALUE });
  });
});
