import { describe, expect, it } from "vitest";
import { LogAppendConflictError, handleSqsRecord, openDatabase, type EngineDeps, type Logger } from "@hipaa-remediate/core";
import { cloudTrailRecord, eventBridgeEnvelope } from "../../support/cloudtrail";
import { sqliteEngineDeps } from "../../support/engine-deps";

describe("handleSqsRecord", () => {
  it("logs why an event stopped before its handling could be logged, then fails the record for SQS to retry", async () => {
    const logged: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn() {},
      error: (message, fields) => logged.push({ message, fields }),
    };
    const base = sqliteEngineDeps(openDatabase(":memory:"), {
      policy: { controls: { "s3-bucket-default-encryption": { mode: "dry-run" } } },
    });
    const refused = new LogAppendConflictError("could not append to log remediation-log: seq 7 was taken on each of 64 attempts", {
      attempts: 64,
    });
    // The real store, except that it refuses every write.
    const log: EngineDeps["log"] = Object.assign(Object.create(base.log) as EngineDeps["log"], {
      append: () => Promise.reject(refused),
      appendAll: () => Promise.reject(refused),
    });
    const deps: EngineDeps = { ...base, logger, log };
    const record = cloudTrailRecord({
      eventSource: "s3.amazonaws.com",
      eventName: "DeleteBucketEncryption",
      requestParameters: { bucketName: "b" },
    });

    const handling = handleSqsRecord(
      { messageId: "m-7", body: JSON.stringify(eventBridgeEnvelope(record)), attributes: { ApproximateReceiveCount: "2" } },
      deps,
    );

    await expect(handling).rejects.toBe(refused);
    expect(logged).toEqual([
      {
        message: "event handling stopped; the message will be retried",
        fields: {
          eventId: record.eventID,
          messageId: "m-7",
          receiveCount: "2",
          error: expect.objectContaining({ name: "LogAppendConflictError", message: refused.message }) as unknown,
        },
      },
    ]);
  });
});
