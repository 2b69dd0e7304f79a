import { verifyChain } from "@hipaa-remediate/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { scenario as ec2InPublicSubnet } from "../integration/controls/scenarios/ec2-instance-in-public-subnet";
import {
  scenario as iamAccessKeyStale,
  keyParts,
  keyStatuses,
} from "../integration/controls/scenarios/iam-access-key-stale";
import { scenario as phiTaggedNonProduction } from "../integration/controls/scenarios/phi-tagged-non-production";
import { scenario as s3DefaultEncryption } from "../integration/controls/scenarios/s3-bucket-default-encryption";
import { assumedRoleIdentity } from "../support/cloudtrail";
import type { ControlScenario } from "../support/control-scenario";
import { MOTO_ACCOUNT, useMoto } from "../support/moto";
import { Pipeline } from "../support/pipeline";
import { createSweepHandler } from "../../packages/functions/src/sweep";

const moto = useMoto();
const ENGINE_ROLE = "hipaa-remediate-engine";
const ENGINE_ROLE_ARN = `arn:aws:iam::${MOTO_ACCOUNT}:role/${ENGINE_ROLE}`;
const scenarios: ControlScenario[] = [ec2InPublicSubnet, s3DefaultEncryption, phiTaggedNonProduction, iamAccessKeyStale];

function policyFor(scenario: ControlScenario, mode: "dry-run" | "approve" | "auto", extra: Record<string, unknown> = {}) {
  return {
    controls: { [scenario.control]: { mode, ...(scenario.options ? { options: scenario.options } : {}) } },
    engine: { principals: [ENGINE_ROLE_ARN] },
    ...extra,
  };
}

function eventIdOf(record: Record<string, unknown>): string {
  return String(record.eventID);
}

describe.each(scenarios)("$control: EventBridge -> SQS -> engine handler on moto", (scenario) => {
  let pipeline: Pipeline | undefined;

  beforeEach(() => moto.reset());
  afterEach(async () => {
    await pipeline?.dispose();
    pipeline = undefined;
  });

  async function start(mode: "dry-run" | "approve" | "auto", extra: Record<string, unknown> = {}): Promise<Pipeline> {
    pipeline = await Pipeline.create(moto, {
      policy: policyFor(scenario, mode, extra),
      ...(scenario.clockOffsetDays ? { clockOffsetDays: scenario.clockOffsetDays } : {}),
    });
    return pipeline;
  }

  it("auto: fixes the resource, verifies it, and logs one valid chain from received to verified", async () => {
    const p = await start("auto");
    const { record, resource } = await scenario.arrangeViolation(moto);
    await p.publish(record);
    const stats = await p.pump();
    expect(stats).toMatchObject({ succeeded: 1, failed: 0 });
    await scenario.assertFixed(moto, resource);

    const stages = await p.stagesFor(eventIdOf(record));
    expect(stages.slice(0, 3)).toEqual(["received", "finding", "decision"]);
    expect(stages).toContain("applied");
    expect(stages.at(-1)).toBe("verified");
    const applied = (await p.log()).find((e) => e.stage === "applied" && e.resource?.arn === resource.arn);
    expect(applied?.before).toBeDefined();
    expect(applied?.plan?.control).toBe(scenario.control);
    expect(applied?.hipaa?.length).toBeGreaterThan(0);
    expect((await verifyChain(p.deps.log.read())).ok).toBe(true);
  });

  it("dry-run: logs what it would fix and changes nothing", async () => {
    const p = await start("dry-run");
    const { record, resource } = await scenario.arrangeViolation(moto);
    await p.publish(record);
    await p.pump();
    await scenario.assertUnchanged(moto, resource);
    const stages = await p.stagesFor(eventIdOf(record));
    expect(stages).toContain("would-remediate");
    expect(stages).not.toContain("applied");
    const decision = (await p.log()).find((e) => e.stage === "decision");
    expect(decision?.mode).toBe("dry-run");
  });

  it("approve: stores a pending proposal with its plan hash and changes nothing", async () => {
    const p = await start("approve");
    const { record, resource } = await scenario.arrangeViolation(moto);
    await p.publish(record);
    await p.pump();
    await scenario.assertUnchanged(moto, resource);
    const pending = await p.deps.proposals.listByStatus("pending");
    expect(pending.map((proposal) => proposal.finding.resource.arn)).toContain(resource.arn);
    const proposed = (await p.log()).find((e) => e.stage === "proposed");
    expect(proposed?.planHash).toBe(pending.find((x) => x.finding.resource.arn === resource.arn)?.planHash);
    expect(await p.stagesFor(eventIdOf(record))).not.toContain("applied");
  });

  it("a redelivered event is recognised and nothing is done twice", async () => {
    const p = await start("auto");
    const { record, resource } = await scenario.arrangeViolation(moto);
    await p.publish(record);
    await p.pump();
    await p.publish(record);
    await p.pump();
    await scenario.assertFixed(moto, resource);
    const entries = await p.deps.log.byEvent(eventIdOf(record));
    expect(entries.filter((e) => e.stage === "applied")).toHaveLength(1);
    expect(entries.some((e) => e.stage === "ignored" && /already processed/.test(e.reason ?? ""))).toBe(true);
  });

  it("the engine's own change is ignored by the loop guard", async () => {
    const p = await start("auto");
    const { record, resource } = await scenario.arrangeViolation(moto);
    await p.publish({ ...record, userIdentity: assumedRoleIdentity(ENGINE_ROLE, "engine-session") });
    await p.pump();
    await scenario.assertUnchanged(moto, resource);
    const entries = await p.deps.log.byEvent(eventIdOf(record));
    expect(entries.map((e) => e.stage)).toEqual(["ignored"]);
    expect(entries[0]?.reason).toMatch(/loop guard/);
  });

  it("an exempted resource is left alone and the exemption is logged", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    const exemption = {
      resource: resource.arn,
      controls: [scenario.control],
      reason: "vendor appliance, compensating control CC-12",
      owner: "security@example.com",
      expires: "2099-12-31",
    };
    const p = await start("auto", { exemptions: [exemption] });
    await p.publish(record);
    await p.pump();
    await scenario.assertUnchanged(moto, resource);
    const exempted = (await p.log()).find((e) => e.stage === "exempted");
    expect(exempted?.resource?.arn).toBe(resource.arn);
    expect(exempted?.reason).toContain("vendor appliance");
  });

  it("a resource fixed before the event is handled ends as no longer applies, not as an error", async () => {
    const p = await start("auto");
    const { record, resource } = await scenario.arrangeViolation(moto);
    await scenario.makeCompliant(moto, resource);
    await p.publish(record);
    const stats = await p.pump();
    expect(stats.failed).toBe(0);
    const stages = await p.stagesFor(eventIdOf(record));
    expect(stages).toContain("no-longer-applies");
    expect(stages).not.toContain("failed");
    expect(stages).not.toContain("applied");
  });
});

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
    pipeline = await Pipeline.create(moto, {
      policy: policyFor(iamAccessKeyStale, "auto"),
      clockOffsetDays: iamAccessKeyStale.clockOffsetDays ?? 200,
    });
    const { resource } = await iamAccessKeyStale.arrangeViolation(moto);
    const sweep = createSweepHandler(async () => (pipeline as Pipeline).deps);

    const first = await sweep({ id: "schedule-run-1", time: new Date().toISOString() });
    expect(first.failures).toEqual([]);
    // The clock is 200 days ahead, so every key of the user is past the deactivation age.
    const { userName } = keyParts(resource);
    const statuses = await keyStatuses(moto.clients.iam(), userName);
    expect(first.findings).toBe(Object.keys(statuses).length);
    expect(Object.values(statuses)).toEqual(Object.keys(statuses).map(() => "Inactive"));

    const retried = await sweep({ id: "schedule-run-1", time: new Date().toISOString() });
    expect(retried.findings).toBe(0);
    const applied = (await pipeline.log()).filter((e) => e.stage === "applied" && e.resource?.arn === resource.arn);
    expect(applied).toHaveLength(1);
  });
});
