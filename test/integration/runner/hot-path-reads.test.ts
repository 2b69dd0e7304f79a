import { setTimeout as delay } from "node:timers/promises";
import { openDatabase, processEvent } from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";
import { scenario } from "../controls/scenarios/s3-bucket-default-encryption";
import { changeEventOf } from "../../support/control-harness";
import { sqliteEngineDeps } from "../../support/engine-deps";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { engineClientsRecordingS3 } from "../../support/recorded-engine-clients";

const moto = useMoto();

/** Detection reads the setting, then the tags the finding carries; the re-check reads the setting again. */
const READS_BEFORE_APPLY = ["GetBucketEncryptionCommand", "GetBucketTaggingCommand", "GetBucketEncryptionCommand"];
/** Then the fix, and verify reading what it left. */
const FIX_CALLS = [...READS_BEFORE_APPLY, "PutBucketEncryptionCommand", "GetBucketEncryptionCommand"];

describe("the hot path reads each thing once per finding, plus one re-check before apply", () => {
  it("fixes a DeleteBucketEncryption in auto mode with 5 S3 calls: detect 2, re-check 1, apply 1, verify 1", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    const event = changeEventOf(record);

    // The engine's own clients, with every S3 request recorded as the SDK sends it.
    const { aws, sentToS3: sent } = await engineClientsRecordingS3(moto.endpoint);
    const deps = sqliteEngineDeps(openDatabase(":memory:"), { aws, policy: { controls: { [scenario.control]: { mode: "auto" } } } });

    const report = await processEvent(event, deps);

    expect(report.findings.map((finding) => finding.outcome)).toEqual(["verified"]);
    // The re-check's read is also the state apply captures for rollback.
    expect(sent).toEqual(FIX_CALLS);
    const applied = (await deps.log.byEvent(event.id)).find((entry) => entry.stage === "applied");
    expect(applied?.before).toEqual({ bucket: resource.id, region: MOTO_REGION, configuration: null });
  });

  it("begins detection while the idempotency record is taken, and the re-check while the rate limit is granted", async () => {
    const { record } = await scenario.arrangeViolation(moto);
    const event = changeEventOf(record);
    const { aws, sentToS3: sent } = await engineClientsRecordingS3(moto.endpoint);
    const deps = sqliteEngineDeps(openDatabase(":memory:"), { aws, policy: { controls: { [scenario.control]: { mode: "auto" } } } });
    // Each gate holds its step until the read it should overlap has been sent (or a second has passed), and notes
    // what had been sent by the time it let the step go on.
    const sentWhen: Record<string, string[]> = {};
    const holdUntilSent = async (step: string, count: number) => {
      for (let waited = 0; sent.length < count && waited < 1_000; waited += 10) await delay(10);
      sentWhen[step] = [...sent];
    };
    const guarded = {
      ...deps,
      guard: {
        ...deps.guard,
        once: async <T extends object>(key: string, work: () => Promise<T>) => {
          await holdUntilSent("guard", 1);
          return deps.guard.once(key, work);
        },
      },
      rateLimiter: {
        countInWindow: (now: Date) => deps.rateLimiter.countInWindow(now),
        tryAcquire: async (now: Date) => {
          await holdUntilSent("rate limit", 3);
          return deps.rateLimiter.tryAcquire(now);
        },
      },
    };

    const report = await processEvent(event, guarded);

    expect(report.findings.map((finding) => finding.outcome)).toEqual(["verified"]);
    // Detection had begun (its tag read may have followed by then) before the guard let the work in.
    expect(sentWhen.guard?.[0]).toBe("GetBucketEncryptionCommand");
    // Apply cannot come before the grant, so exactly detection's reads and the re-check's had been sent.
    expect(sentWhen["rate limit"]).toEqual(READS_BEFORE_APPLY);
    // Still each read once: begun early, the reads are the same ones.
    expect(sent).toEqual(FIX_CALLS);
  });
});
