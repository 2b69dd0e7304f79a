import { openDatabase, processEvent, type LogStore, type Stage } from "@hipaa-remediate/core";
import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { scenario } from "../controls/scenarios/s3-bucket-default-encryption";
import { changeEventOf } from "../../support/control-harness";
import { sqliteEngineDeps } from "../../support/engine-deps";
import { useMoto } from "../../support/moto";
import { interceptLogWrites } from "../../support/intercept-log-writes";
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
  return interceptLogWrites(log, {
    before(draft) {
      if (draft.stage === stage && !refused) {
        refused = true;
        throw new InjectedLogFailure(stage);
      }
    },
  });
}

/** A bucket whose encryption was just deleted, its event, and a local engine in auto mode that counts its applies. */
async function arrangeAutoFix() {
  const { record } = await scenario.arrangeViolation(moto);
  const { aws, sentToS3 } = await engineClientsRecordingS3(moto.endpoint);
  const deps = sqliteEngineDeps(openDatabase(":memory:"), { aws, policy: { controls: { [scenario.control]: { mode: "auto" } } } });
  const applies = () => sentToS3.filter((command) => command === "PutBucketEncryptionCommand").length;
  return { event: changeEventOf(record), deps, applies };
}

/** An auto-fix of one DeleteBucketEncryption whose log refuses `stage`: the report (or error), S3 calls and entries. */
async function fixWithLogRefusing(stage: Stage) {
  const { event, deps, applies } = await arrangeAutoFix();
  const outcome = await processEvent(event, { ...deps, log: refusing(deps.log, stage) }).then(
    (report) => ({ report }),
    (error: unknown) => ({ error }),
  );
  const stages = (await deps.log.byEvent(event.id)).map((entry) => entry.stage);
  return { outcome, applies: applies(), stages };
}

/**
 * Entries are held while the engine reads on and written together before the fix (runner/ordered-log-writer.ts); a
 * write the log refuses must still end the work before anything is changed, with the log's error.
 */
describe("an auto-fix whose log refuses an entry", () => {
  // `received` and the unit of work's entries up to `applying` are one write: refusing any of them is refusing it.
  it.each(["received", "finding", "decision", "applying"] as const)(
    "ends the event with the log's error when `%s` is refused, and changes nothing",
    async (stage) => {
      const { outcome, applies, stages } = await fixWithLogRefusing(stage);
      expect(outcome).toEqual({ error: expect.any(InjectedLogFailure) });
      expect(outcome).toMatchObject({ error: { message: `injected: the log refused the ${stage} entry` } });
      expect(applies).toBe(0);
      expect(stages).toEqual([]);
    },
  );

  it("applies once and logs the failure when `applied` is refused, with nothing written after it", async () => {
    const { outcome, applies, stages } = await fixWithLogRefusing("applied");
    expect(outcome).toMatchObject({ report: { failures: 1, findings: [] } });
    expect(applies).toBe(1);
    expect(stages).toEqual(["received", "finding", "decision", "applying", "failed"]);
  });
});

class InjectedCompletionFailure extends Error {
  constructor() {
    super("injected: the idempotency record could not be completed");
    this.name = "InjectedCompletionFailure";
  }
}

describe("an auto-fix whose idempotency record cannot be completed", () => {
  it("logs the failure after the fix's last entries, which were still being written", async () => {
    const { event, deps, applies } = await arrangeAutoFix();
    // `verified` is written while the record completes: slow it down, and make the completion fail meanwhile.
    const log = interceptLogWrites(deps.log, {
      async before(draft) {
        if (draft.stage === "verified") await delay(50);
      },
    });
    const guard = overrideMethods(deps.guard, {
      async once<T extends object>(key: string, work: () => Promise<T>) {
        await deps.guard.once(key, work);
        throw new InjectedCompletionFailure();
      },
    });

    const report = await processEvent(event, { ...deps, log, guard });

    expect(report).toMatchObject({ failures: 1 });
    expect(applies()).toBe(1);
    const entries = await deps.log.byEvent(event.id);
    expect(entries.map((entry) => entry.stage)).toEqual(["received", "finding", "decision", "applying", "applied", "verified", "failed"]);
    expect(entries.at(-1)?.error).toMatchObject({ name: "InjectedCompletionFailure" });
  });
});
