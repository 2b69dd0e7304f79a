import { controls } from "@hipaa-remediate/remediations";
import { afterEach, describe, expect, it } from "vitest";
import { scenario as iamAccessKeyStale, keyParts, keyStatuses } from "../integration/controls/scenarios/iam-access-key-stale";
import { scenario as s3DefaultEncryption } from "../integration/controls/scenarios/s3-bucket-default-encryption";
import { policyFor } from "../support/control-pipeline-suite";
import { useMoto } from "../support/moto";
import { Pipeline } from "../support/pipeline";
import { createSweepHandler } from "../../packages/functions/src/sweep";

const moto = useMoto();
// Every control's own EventBridge -> SQS -> handler suite runs in the control-pipeline-*.test.ts shards.

describe("a poison message", () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.dispose();
    pipeline = undefined;
  });

  it("is retried on its own, ends in the DLQ, and each rejection is logged with its reason", async () => {
    await moto.reset();
    pipeline = await Pipeline.create(moto, { maxReceiveCount: 2 });
    const { SendMessageCommand } = await import("@aws-sdk/client-sqs");
    await pipeline.sqs.send(new SendMessageCommand({ QueueUrl: pipeline.queue.url, MessageBody: "{not json" }));
    const good = { ...s3DefaultEncryption };
    const { record } = await good.arrangeViolation(moto);
    await pipeline.publish(record);

    await pipeline.pump();
    const dlq = await pipeline.dlqMessages();
    expect(dlq.map((m) => m.Body)).toEqual(["{not json"]);
    const log = await pipeline.log();
    const rejections = log.filter((e) => e.stage === "rejected");
    expect(rejections.length).toBeGreaterThanOrEqual(2);
    expect(rejections[0]?.reason).toMatch(/body/);
    // The neighbour in the same queue was processed normally.
    expect(log.some((e) => e.eventId === record.eventID && e.stage === "would-remediate")).toBe(true);
  });
});

describe("the scheduled sweep handler", () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.dispose();
    pipeline = undefined;
  });

  it("deactivates access keys that went stale without any event, once per schedule run", async () => {
    await moto.reset();
    // Only the access-key control is enabled, so the counts below are its own; a disabled control is not swept.
    const others = Object.fromEntries(controls.filter((c) => c.id !== iamAccessKeyStale.control).map((c) => [c.id, { enabled: false }]));
    const policy = policyFor(iamAccessKeyStale, "auto");
    pipeline = await Pipeline.create(moto, {
      policy: { ...policy, controls: { ...others, ...policy.controls } },
      clockOffsetDays: iamAccessKeyStale.clockOffsetDays ?? 200,
    });
    const { resource } = await iamAccessKeyStale.arrangeViolation(moto);
    const sweep = createSweepHandler(async () => (pipeline as Pipeline).deps);

    const first = await sweep({ id: "schedule-run-1", time: new Date().toISOString() });
    expect(first.failures).toEqual([]);
    // The clock is 200 days ahead, so every key of the user is past the deactivation age.
    const { userName } = keyParts(resource);
    const statuses = await keyStatuses(await moto.clients.iam(), userName);
    expect(first.findings).toBe(Object.keys(statuses).length);
    expect(Object.values(statuses)).toEqual(Object.keys(statuses).map(() => "Inactive"));

    const retried = await sweep({ id: "schedule-run-1", time: new Date().toISOString() });
    expect(retried.findings).toBe(0);
    const applied = (await pipeline.log()).filter((e) => e.stage === "applied" && e.resource?.arn === resource.arn);
    expect(applied).toHaveLength(1);
  });
});
