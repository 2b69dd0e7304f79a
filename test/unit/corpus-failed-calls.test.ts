import { ControlIndex, normaliseRecord } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { corpusAvailable, corpusEventOf, corpusRecords } from "../support/corpus";

const index = new ControlIndex(controls);

/*
 * Every real record of the corpus that some control listens to changes nothing once it carries an errorCode: a
 * failed call is not a change, and ingestion sets it aside before any control sees it.
 */
describe.runIf(corpusAvailable())("corpus records of every trigger, as failed calls", () => {
  const triggered = corpusRecords().filter(
    ({ record }) =>
      record.errorCode === undefined && index.match({ source: String(record.eventSource), name: String(record.eventName) }).length > 0,
  );

  it("the corpus holds trigger records to check", () => {
    expect(triggered.length).toBeGreaterThan(10);
  });

  it("each one reaches its controls as a successful call, and is ignored with its error code as a failed one", () => {
    for (const corpusRecord of triggered) {
      const event = corpusEventOf(corpusRecord);
      expect(index.match(event).length, corpusRecord.origin).toBeGreaterThan(0);
      const failed = normaliseRecord(
        { ...corpusRecord.record, errorCode: "AccessDenied", errorMessage: "not authorised" },
        corpusRecord.origin,
      );
      expect(failed).toMatchObject({ kind: "ignored", reason: "failed call (AccessDenied): not a change" });
    }
  });
});
