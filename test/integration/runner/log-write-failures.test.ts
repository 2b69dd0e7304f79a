import { openDatabase, processEvent, type LogDraft, type LogStore, type Stage } from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";
import { scenario } from "../controls/scenarios/s3-bucket-default-encryption";
import { changeEventOf } from "../../support/control-harness";
import { sqliteEngineDeps } from "../../support/engine-deps";
import { useMoto } from "../../support/moto";
import { overrideMethods } from "../../support/override-methods";
import { engineClientsRecordingS3 } from "../../support/recorded-engine-clients";

const moto = useMoto();

class InjectedLogFailure extends Error {
  constructor(stage: Stage) {
    super(`injected: the log refused the ${stage} entry`);
    this.name = "InjectedLogFailure";
  }
}

/** The log, refusing the first entry of one stage, as a store that is down or lost every conditional write would. */
function refusing(log: LogStore, stage: Stage): LogStore {
  let refused = false;
  return overrideMethods(log, {
    async append(draft: LogDraft) {
      if (draft.stage === stage && !refused) {
        refused = true;
        throw new InjectedLogFailure(stage);
      }
      return log.append(draft);
    },
  });
}

/** An auto-fix of one DeleteBucketEncryption whose log refuses `stage`: the report (or error), S3 calls and entries. */
async function fixWithLogRefusing(stage: Stage) {
  const { record } = await scenario.arrangeViolation(moto);
  const event = changeEventOf(record);
  const { aws, sentToS3 } = await engineClientsRecordingS3(moto.endpoint);
  const deps = sqliteEngineDeps(openDatabase(":memory:"), { aws, policy: { controls: { [scenario.control]: { mode: "auto" } } } });
  const outcome = await processEvent(event, { ...deps, log: refusing(deps.log, stage) }).then(
    (report) => ({ report }),
    (error: unknown) => ({ error }),
  );
  const stages = (await deps.log.byEvent(event.id)).map((entry) => entry.stage);
  return { outcome, applies: sentToS3.filter((command) => command === "PutBucketEncryptionCommand").length, stages };
}

/**
 * Entries are written while the engine reads on (runner/ordered-log-writer.ts); an entry the log refuses must still
 * end the work where awaiting it did: before anything is changed when it comes before the fix, and with the same error.
 */
describe("an auto-fix whose log refuses an entry", () => {
  it("ends the event with the log's error when `received` is refused, and changes nothing", async () => {
    const { outcome, applies, stages } = await fixWithLogRefusing("received");
    expect(outcome).toEqual({ error: expect.any(InjectedLogFailure) });
    expect(applies).toBe(0);
    expect(stages).toEqual([]);
  });

  it.each([
    ["finding", ["received", "failed"]],
    ["decision", ["received", "finding", "failed"]],
    ["applying", ["received", "finding", "decision", "failed"]],
  ] as const)("changes nothing when `%s` is refused, and logs the failure", async (stage, expected) => {
    const { outcome, applies, stages } = await fixWithLogRefusing(stage);
    expect(outcome).toMatchObject({ report: { failures: 1, findings: [] } });
    expect(applies).toBe(0);
    expect(stages).toEqual(expected);
  });

  it("applies once and logs the failure when `applied` is refused, with nothing written after it", async () => {
    const { outcome, applies, stages } = await fixWithLogRefusing("applied");
    expect(outcome).toMatchObject({ report: { failures: 1, findings: [] } });
    expect(applies).toBe(1);
    expect(stages).toEqual(["received", "finding", "decision", "applying", "failed"]);
  });
});
