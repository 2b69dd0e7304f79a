import fc from "fast-check";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ControlIndex,
  readChangeEventBatches,
  readScreenedChangeEventBatches,
  type ListenScreen,
  type ScreenedResult,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { CORPUS_DIR, corpusAvailable } from "../../support/corpus";
import { expectedScreenedResult } from "../../support/screened";
import { fixedRecord, tempDir } from "./helpers";

/*
 * The screened reader (replay's) must give every record the result the full reader gives it, except that a change
 * the screen turns down comes as `unmatched` at the same place instead of a built event. Nothing else may differ:
 * not a rejection, not an ignored record, not the order.
 */
const index = new ControlIndex(controls);
const listensLikeReplay: ListenScreen = (call) => index.listensTo(call);
const listensToNothing: ListenScreen = () => false;
const listensToEverything: ListenScreen = () => true;

async function flat<T>(batches: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const batch of batches) all.push(...batch);
  return all;
}

async function expectSameResults(inputs: string[], listens: ListenScreen): Promise<ScreenedResult[]> {
  const full = await flat(readChangeEventBatches(inputs));
  const screened = await flat(readScreenedChangeEventBatches(inputs, listens));
  expect(screened).toEqual(full.map((result) => expectedScreenedResult(result, listens)));
  return screened;
}

function countKinds(results: readonly ScreenedResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) counts[result.kind] = (counts[result.kind] ?? 0) + 1;
  return counts;
}

describe.runIf(corpusAvailable())("the screened reader on the public corpus", () => {
  it("gives the full reader's results, with the changes no control listens to as unmatched", async () => {
    const counts = countKinds(await expectSameResults([CORPUS_DIR], listensLikeReplay));
    // Both paths are exercised: changes a control listens to stay events, the rest are screened out.
    expect(counts.event).toBeGreaterThan(50);
    expect(counts.unmatched).toBeGreaterThan(500);
    expect(counts.rejected).toBeGreaterThan(0);
    expect(counts.ignored).toBeGreaterThan(0);
  });

  it("screens out every change when nothing listens, and none when everything does", async () => {
    expect(countKinds(await expectSameResults([CORPUS_DIR], listensToNothing)).event).toBeUndefined();
    expect(countKinds(await expectSameResults([CORPUS_DIR], listensToEverything)).unmatched).toBeUndefined();
  });
});

describe("ControlIndex.listensTo, the screen replay uses", () => {
  it("answers exactly whether match finds a control, for every trigger and corpus call, by any actor", async () => {
    const calls = new Map<string, { source: string; name: string }>();
    for (const control of controls) {
      for (const trigger of control.triggers) calls.set(`${trigger.source} ${trigger.name}`, trigger);
    }
    if (corpusAvailable()) {
      for (const result of await flat(readChangeEventBatches([CORPUS_DIR]))) {
        if (result.kind === "event") calls.set(`${result.event.source} ${result.event.name}`, result.event);
      }
    }
    let listened = 0;
    for (const { source, name } of calls.values()) {
      for (const type of ["Root", "IAMUser", "AssumedRole", "AWSService", "Unknown"]) {
        for (const eventType of [undefined, "AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent"]) {
          const call = { source, name, actor: { type }, eventType };
          const matched = index.match(call).length > 0;
          expect(index.listensTo(call), `${source} ${name} by ${type} (${eventType})`).toBe(matched);
          if (matched) listened += 1;
        }
      }
    }
    expect(listened).toBeGreaterThan(0);
    expect(listened).toBeLessThan(calls.size * 20);
  });
});

describe("the screened reader on broken and hostile records", () => {
  const dir = tempDir();
  let files = 0;

  function fileOf(lines: readonly string[]): string {
    const path = join(dir, `input-${files++}.jsonl`);
    writeFileSync(path, lines.join("\n"));
    return path;
  }

  /** A record line with fields replaced; an undefined field is left out. */
  const line = (fields: Record<string, unknown>, index = 1) => JSON.stringify({ ...fixedRecord(index), ...fields });

  it("still rejects what the full path rejects and ignores what it ignores", async () => {
    const lines = [
      line({}),
      line({ eventName: undefined }),
      line({ eventSource: 42 }),
      line({ eventTime: "yesterday" }),
      line({ eventTime: undefined }),
      line({ errorCode: "AccessDenied" }),
      line({ eventType: "AwsCloudTrailInsight" }),
      line({ readOnly: true, eventName: "GetBucketAcl" }),
      line({ requestParameters: { bucketName: "b" } }).replace('"bucketName":"b"', '"bucketName":1e999'),
      line({ requestParameters: { bucketName: "b" } }).replace('"bucketName":"b"', `"bucketName":${"[".repeat(100)}${"]".repeat(100)}`),
      JSON.stringify({
        "detail-type": "AWS API Call via CloudTrail",
        detail: { ...fixedRecord(2), eventTime: undefined },
        time: "2024-01-01T00:00:00Z",
      }),
      JSON.stringify({ "detail-type": "AWS API Call via CloudTrail", detail: { ...fixedRecord(3), requestParameters: { n: 1 } } }).replace(
        '"n":1',
        '"n":-1e999',
      ),
      JSON.stringify({ "detail-type": "Scheduled Event", detail: {} }),
      "{ not json",
    ];
    const results = await expectSameResults([fileOf(lines)], listensToNothing);
    expect(results.map((result) => result.kind)).toEqual([
      "unmatched",
      "rejected",
      "rejected",
      "rejected",
      "rejected",
      "ignored",
      "ignored",
      "unmatched",
      "rejected",
      "rejected",
      "unmatched",
      "rejected",
      "ignored",
      "rejected",
    ]);
  });

  it("agrees with the full path on arbitrary mixes of good, broken and hostile lines", async () => {
    const recordLine = fc
      .tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom("PutBucketEncryption", "GetObject", "CreateUser", "ConsoleLogin"))
      .map(([i, eventName]) => line({ eventName }, i));
    const brokenLine = fc
      .tuple(recordLine, fc.constantFrom("1e999", "-1e999", "null", '"..."', "{}", `${"[".repeat(70)}${"]".repeat(70)}`))
      .chain(([text, raw]) =>
        fc
          .constantFrom("eventName", "eventSource", "eventTime", "bucketName", "errorCode", "userIdentity", "recipientAccountId")
          .map((field) => text.replace(new RegExp(`"${field}":("[^"]*"|\\{[^}]*\\})`), `"${field}":${raw}`)),
      );
    const truncatedLine = fc.tuple(recordLine, fc.nat()).map(([text, cut]) => text.slice(0, 1 + (cut % (text.length - 1))));
    const screen = fc.constantFrom(listensLikeReplay, listensToNothing, listensToEverything);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(recordLine, brokenLine, truncatedLine), { minLength: 1, maxLength: 10 }),
        screen,
        async (lines, listens) => {
          await expectSameResults([fileOf(lines)], listens);
        },
      ),
      { numRuns: 40 },
    );
  });
});
