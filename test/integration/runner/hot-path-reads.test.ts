import { openDatabase, processEvent } from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";
import { scenario } from "../controls/scenarios/s3-bucket-default-encryption";
import { changeEventOf } from "../../support/control-harness";
import { sqliteEngineDeps } from "../../support/engine-deps";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { engineClientsRecordingS3 } from "../../support/recorded-engine-clients";

const moto = useMoto();

describe("the hot path reads each thing once per finding, plus one re-check before apply", () => {
  it("fixes a DeleteBucketEncryption in auto mode with 5 S3 calls: detect 2, re-check 1, apply 1, verify 1", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    const event = changeEventOf(record);

    // The engine's own clients, with every S3 request recorded as the SDK sends it.
    const { aws, sentToS3: sent } = await engineClientsRecordingS3(moto.endpoint);
    const deps = sqliteEngineDeps(openDatabase(":memory:"), { aws, policy: { controls: { [scenario.control]: { mode: "auto" } } } });

    const report = await processEvent(event, deps);

    expect(report.findings.map((finding) => finding.outcome)).toEqual(["verified"]);
    expect(sent).toEqual([
      // detect: the setting, then the tags the finding carries
      "GetBucketEncryptionCommand",
      "GetBucketTaggingCommand",
      // the re-check just before apply, whose read is also the state apply captures for rollback
      "GetBucketEncryptionCommand",
      "PutBucketEncryptionCommand",
      // verify reads what the change left
      "GetBucketEncryptionCommand",
    ]);
    const applied = (await deps.log.byEvent(event.id)).find((entry) => entry.stage === "applied");
    expect(applied?.before).toEqual({ bucket: resource.id, region: MOTO_REGION, configuration: null });
  });
});
