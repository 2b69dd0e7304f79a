import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readChangeEventsFromStream } from "@hipaa-remediate/core";
import { fixedRecord } from "./helpers";

const RECORDS = 200_000;

/**
 * A log file of RECORDS records made on the fly, in 64 KiB chunks: the whole file never exists in memory,
 * so the reader must consume it as it comes. Every tenth record is a failed call.
 */
function generatedLogFile(): Readable {
  const template = fixedRecord(1, {
    eventSource: "ec2.amazonaws.com",
    eventName: "CreateTags",
    requestParameters: { resourcesSet: { items: [{ resourceId: "i-0abc" }] } },
  });
  const failedTemplate = { ...template, errorCode: "Client.UnauthorizedOperation" };
  return Readable.from(
    (function* () {
      let pending = '{"Records":[';
      for (let i = 0; i < RECORDS; i++) {
        const record = i % 10 === 9 ? failedTemplate : template;
        pending += (i === 0 ? "" : ",") + JSON.stringify({ ...record, eventID: `event-${i}` });
        if (pending.length >= 64 * 1024) {
          yield Buffer.from(pending);
          pending = "";
        }
      }
      yield Buffer.from(`${pending}]}`);
    })(),
  );
}

describe("streaming a large generated log file", () => {
  it("yields one result per record, in order", async () => {
    let events = 0;
    let ignored = 0;
    let other = 0;
    let expectedIndex = 0;
    let outOfOrder = 0;
    for await (const result of readChangeEventsFromStream(generatedLogFile(), "generated")) {
      if (result.kind === "event") {
        events++;
        if (result.event.id !== `event-${expectedIndex}`) outOfOrder++;
      } else if (result.kind === "ignored") {
        ignored++;
      } else {
        other++;
      }
      expectedIndex++;
    }
    expect({ events, ignored, other, outOfOrder }).toEqual({ events: RECORDS * 0.9, ignored: RECORDS * 0.1, other: 0, outOfOrder: 0 });
  });
});
