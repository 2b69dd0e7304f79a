import { randomUUID } from "node:crypto";
import { nextEntry, type LogEntry, type Stage } from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";
import { auditLoad, type LoadRecord } from "../../support/load";

/** A chain of entries for one event, with the stages given, as the engine would have appended them. */
function chainFor(events: { eventId: string; stages: Stage[] }[]): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const { eventId, stages } of events) {
    for (const stage of stages) {
      entries.push(
        nextEntry(entries.at(-1), {
          stage,
          at: "2026-12-02T00:00:00.000Z",
          eventId,
          ...(stage === "failed"
            ? { reason: "detection or handling failed", error: { name: "TimeoutError", message: "socket hang up" } }
            : {}),
        }),
      );
    }
  }
  return entries;
}

function record(kind: LoadRecord["kind"]): LoadRecord {
  return { eventId: randomUUID(), kind, record: {} };
}

describe("the load's audit of the log", () => {
  it("accepts an attempt that failed before any fix when the retry went to the end, and lists it with its reason", async () => {
    const compliant = record("compliant");
    const violation = record("violation");
    const audit = await auditLoad(
      [compliant, violation],
      chainFor([
        { eventId: compliant.eventId, stages: ["received", "failed", "received", "no-longer-applies"] },
        { eventId: violation.eventId, stages: ["received", "finding", "decision", "applying", "applied", "verified"] },
      ]),
    );

    expect(audit.problems).toEqual([]);
    expect(audit.retriedAttempts).toEqual([
      `compliant ${compliant.eventId}: received -> failed; detection or handling failed ${JSON.stringify({ name: "TimeoutError", message: "socket hang up" })}`,
    ]);
    expect(audit.chain).toMatchObject({ ok: true, checked: 10 });
  });

  it("flags an event with no entry, an event that ended failed, a fix begun in a failed attempt, and a second apply", async () => {
    const [missing, endedFailed, failedMidFix, twice] = [
      record("compliant"),
      record("compliant"),
      record("violation"),
      record("violation"),
    ];
    const fix: Stage[] = ["received", "finding", "decision", "applying", "applied", "verified"];
    const audit = await auditLoad(
      [missing, endedFailed, failedMidFix, twice],
      chainFor([
        { eventId: endedFailed.eventId, stages: ["received", "failed"] },
        { eventId: failedMidFix.eventId, stages: ["received", "finding", "decision", "applying", "failed", ...fix] },
        { eventId: twice.eventId, stages: [...fix, ...fix] },
      ]),
    );

    expect(audit.retriedAttempts).toEqual([]);
    expect(audit.problems).toHaveLength(4);
    expect(audit.problems[0]).toBe(`compliant ${missing.eventId}: no entry (expected received -> no-longer-applies)`);
    expect(audit.problems[1]).toMatch(
      new RegExp(`^compliant ${endedFailed.eventId}: received -> failed .*; failed: detection or handling failed`),
    );
    expect(audit.problems[2]).toMatch(
      new RegExp(`^violation ${failedMidFix.eventId}: received -> finding -> decision -> applying -> failed -> received`),
    );
    expect(audit.problems[3]).toMatch(
      new RegExp(`^violation ${twice.eventId}: (received -> finding -> decision -> applying -> applied -> verified( -> )?){2}`),
    );
  });
});
