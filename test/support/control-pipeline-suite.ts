import { rollbackApplied, runSweep, verifyChain } from "@hipaa-remediate/core";
import { afterEach, describe, expect, it } from "vitest";
import { assumedRoleIdentity } from "./cloudtrail";
import type { ControlScenario } from "./control-scenario";
import { MOTO_ACCOUNT, type Moto } from "./moto";
import { Pipeline } from "./pipeline";
import { allScenarios } from "./scenarios";

export const ENGINE_ROLE = "hipaa-remediate-engine";
export const ENGINE_ROLE_ARN = `arn:aws:iam::${MOTO_ACCOUNT}:role/${ENGINE_ROLE}`;

export function policyFor(scenario: ControlScenario, mode: "dry-run" | "approve" | "auto", extra: Record<string, unknown> = {}) {
  return {
    controls: { [scenario.control]: { mode, ...(scenario.options ? { options: scenario.options } : {}) } },
    engine: { principals: [ENGINE_ROLE_ARN] },
    ...extra,
  };
}

function eventIdOf(record: Record<string, unknown>): string {
  return String(record.eventID);
}

/**
 * The stages one control logged for an event, with the event's own entries (received, ignored). Other controls may
 * listen to the same call (RunInstances has several) and log their own dry-run steps for it in between.
 */
async function stagesOf(p: Pipeline, eventId: string, control: string): Promise<string[]> {
  const entries = await p.deps.log.byEvent(eventId);
  return entries.filter((entry) => entry.control === undefined || entry.control === control).map((entry) => entry.stage);
}

/**
 * The scenarios of one shard: every control's scenario (test/integration/controls/scenarios/), so a new control
 * joins the suite by existing, dealt round-robin over the shard files so both test workers share the work.
 */
export async function scenarioShard(shard: number, of: number): Promise<ControlScenario[]> {
  return (await allScenarios()).filter((_scenario, index) => index % of === shard - 1);
}

/**
 * For each scenario, the deployed data path on moto: EventBridge rules generated from the registry -> SQS with a
 * DLQ -> the real engine handler, in every mode, plus rollback, sweep, redelivery, the loop guard, exemptions and
 * "no longer applies".
 */
export function describeControlPipelines(moto: Moto, scenarios: readonly ControlScenario[]): void {
  describe.each(scenarios)("$control: EventBridge -> SQS -> engine handler on moto", (scenario) => {
    let pipeline: Pipeline | undefined;

    // No reset between tests or controls (useMoto resets once per file): scenarios name their resources uniquely,
    // and a reset makes moto rebuild the default VPCs on the next EC2 call, which costs seconds each time.
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

    // Notify-only controls, controls without a sweep and fixes without a rollback get the tests that fit them,
    // not skipped ones: each scenario says why a case does not apply.
    if (scenario.notifyOnly)
      it("auto: a notify-only control reports and changes nothing", async () => {
        const p = await start("auto");
        const { record, resource } = await scenario.arrangeViolation(moto);
        await p.publish(record);
        expect(await p.pump()).toMatchObject({ succeeded: 1, failed: 0 });
        await scenario.assertUnchanged(moto, resource);
        const stages = await stagesOf(p, eventIdOf(record), scenario.control);
        expect(stages).toEqual(expect.arrayContaining(["received", "finding", "decision"]));
        expect(stages).not.toContain("applied");
      });

    if (!scenario.notifyOnly)
      it("auto: fixes the resource, verifies it, and logs one valid chain from received to verified", async () => {
        const p = await start("auto");
        const { record, resource } = await scenario.arrangeViolation(moto);
        await p.publish(record);
        const stats = await p.pump();
        expect(stats).toMatchObject({ succeeded: 1, failed: 0 });
        await scenario.assertFixed(moto, resource);

        const stages = await stagesOf(p, eventIdOf(record), scenario.control);
        expect(stages.slice(0, 3)).toEqual(["received", "finding", "decision"]);
        expect(stages).toContain("applied");
        expect(stages.at(-1)).toBe("verified");
        const applied = (await p.log()).find((e) => e.stage === "applied" && e.resource?.arn === resource.arn);
        expect(applied?.before).toBeDefined();
        expect(applied?.plan?.control).toBe(scenario.control);
        expect(applied?.hipaa?.length).toBeGreaterThan(0);
        expect((await verifyChain(p.deps.log.read())).ok).toBe(true);
      });

    if (!(scenario.noRollback ?? scenario.notifyOnly))
      it("rollback: the automatic fix is undone from the log, exactly", async () => {
        const p = await start("auto");
        const { record, resource } = await scenario.arrangeViolation(moto);
        await p.publish(record);
        await p.pump();
        await scenario.assertFixed(moto, resource);
        const applied = (await p.log()).find((e) => e.stage === "applied" && e.resource?.arn === resource.arn);
        if (!applied) throw new Error(`no applied entry for ${resource.arn}`);
        await rollbackApplied(applied, p.deps);
        await scenario.assertUnchanged(moto, resource);
        expect((await p.log()).at(-1)?.stage).toBe("rolled-back");
        expect((await verifyChain(p.deps.log.read())).ok).toBe(true);
      });

    if (!(scenario.notFoundBySweep ?? scenario.notifyOnly))
      it("sweep: finds the violation without its event and fixes it", async () => {
        const p = await start("auto");
        const { resource } = await scenario.arrangeViolation(moto);
        const control = p.deps.index.byId(scenario.control);
        if (!control) throw new Error(`${scenario.control} is not registered`);
        const report = await runSweep(p.deps, { sweepId: `sweep-${resource.arn}`, controls: [control] });
        expect(report.failures).toEqual([]);
        expect(report.findings.map((f) => f.resource)).toContain(resource.arn);
        await scenario.assertFixed(moto, resource);
      });

    it("dry-run: logs what it would fix and changes nothing", async () => {
      const p = await start("dry-run");
      const { record, resource } = await scenario.arrangeViolation(moto);
      await p.publish(record);
      await p.pump();
      await scenario.assertUnchanged(moto, resource);
      const stages = await stagesOf(p, eventIdOf(record), scenario.control);
      expect(stages).toContain("would-remediate");
      expect(stages).not.toContain("applied");
      const decision = (await p.log()).find((e) => e.stage === "decision");
      expect(decision?.mode).toBe("dry-run");
    });

    if (scenario.notifyOnly)
      it("approve: a notify-only finding is reported, with no proposal to approve", async () => {
        const p = await start("approve");
        const { record, resource } = await scenario.arrangeViolation(moto);
        await p.publish(record);
        expect(await p.pump()).toMatchObject({ succeeded: 1, failed: 0 });
        await scenario.assertUnchanged(moto, resource);
        const pending = await p.deps.proposals.listByStatus("pending");
        expect(pending.map((proposal) => proposal.finding.resource.arn)).not.toContain(resource.arn);
        const stages = await stagesOf(p, eventIdOf(record), scenario.control);
        expect(stages).toEqual(expect.arrayContaining(["finding", "decision"]));
        expect(stages).not.toContain("proposed");
      });

    if (!scenario.notifyOnly)
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
        expect(await stagesOf(p, eventIdOf(record), scenario.control)).not.toContain("applied");
      });

    it("a redelivered event is recognised and nothing is done twice", async () => {
      const p = await start("auto");
      const { record, resource } = await scenario.arrangeViolation(moto);
      await p.publish(record);
      await p.pump();
      await p.publish(record);
      await p.pump();
      const entries = await p.deps.log.byEvent(eventIdOf(record));
      if (scenario.notifyOnly) {
        await scenario.assertUnchanged(moto, resource);
        expect(entries.filter((e) => e.stage === "finding")).toHaveLength(1);
      } else {
        await scenario.assertFixed(moto, resource);
        expect(entries.filter((e) => e.stage === "applied")).toHaveLength(1);
      }
      expect(entries.some((e) => e.stage === "ignored" && /already processed/.test(e.reason ?? ""))).toBe(true);
    });

    it("the engine's own change is ignored by the loop guard", async () => {
      const p = await start("auto");
      const { record, resource } = await scenario.arrangeViolation(moto);
      await p.publish({ ...record, userIdentity: assumedRoleIdentity(ENGINE_ROLE, "engine-session") });
      await p.pump();
      await scenario.assertUnchanged(moto, resource);
      const entries = await p.deps.log.byEvent(eventIdOf(record));
      if (scenario.engineNeverMatches) {
        // Only another identity triggers the control: the engine's change does not even reach it.
        expect(entries).toEqual([]);
        return;
      }
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

    if (!scenario.alwaysApplies)
      it("a resource fixed before the event is handled ends as no longer applies, not as an error", async () => {
        const p = await start("auto");
        const { record, resource } = await scenario.arrangeViolation(moto);
        await scenario.makeCompliant(moto, resource);
        await p.publish(record);
        const stats = await p.pump();
        expect(stats.failed).toBe(0);
        const stages = await stagesOf(p, eventIdOf(record), scenario.control);
        expect(stages).toContain("no-longer-applies");
        expect(stages).not.toContain("failed");
        expect(stages).not.toContain("applied");
      });
  });
}
