import { runSweep, type EngineDeps, type SweepReport } from "@hipaa-remediate/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { deployedEngineDeps } from "./wiring/deployed";

/**
 * The scheduled sweep: every control lists its resources and the findings go through the same policy and
 * runner as events. The schedule event's id keys the sweep, so a retried invocation does nothing twice.
 */
export function createSweepHandler(getDeps: () => Promise<EngineDeps>) {
  return async (
    event: Pick<ScheduledEvent, "id" | "time">,
    context?: Context,
  ): Promise<Omit<SweepReport, "findings"> & { findings: number }> => {
    const deps = await getDeps();
    if (context) deps.guard.registerLambdaContext(context);
    const report = await runSweep(deps, { sweepId: `schedule:${event.id}` });
    deps.logger.info("sweep finished", {
      sweepId: report.sweepId,
      resources: report.resources,
      findings: report.findings.length,
      failures: report.failures.length,
    });
    return { ...report, findings: report.findings.length };
  };
}

export const handler = createSweepHandler(deployedEngineDeps);
