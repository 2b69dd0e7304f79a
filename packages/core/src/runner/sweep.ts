import type { AnyControl, LiveContext } from "../controls/contract";
import { controlContext, type EngineDeps } from "./deps";
import { LiveStateUnavailableError } from "./execute";
import { errorFields, resourceFields } from "./log-fields";
import { handleFinding, type FindingReport } from "./process-event";

export interface SweepReport {
  sweepId: string;
  resources: number;
  findings: FindingReport[];
  failures: { control: string; resource?: string; error: string }[];
}

/**
 * The full-account scan: every control lists its resources and runs its own detection on each, then the
 * findings go through the same policy and runner as event findings. A control that fails to list or to
 * detect is recorded and the others go on.
 */
export async function runSweep(
  deps: EngineDeps,
  options: { sweepId: string; controls?: readonly AnyControl[]; onResource?(control: string, resource: string): void },
): Promise<SweepReport> {
  if (!deps.aws) throw new LiveStateUnavailableError("a sweep reads live state and needs AWS clients");
  const report: SweepReport = { sweepId: options.sweepId, resources: 0, findings: [], failures: [] };
  const at = () => deps.now().toISOString();
  for (const control of options.controls ?? deps.index.controls) {
    const ctx: LiveContext = { ...controlContext(control, deps), aws: deps.aws };
    try {
      for await (const resource of control.sweep(ctx)) {
        report.resources += 1;
        options.onResource?.(control.id, resource.arn);
        try {
          // A sweep is keyed by its id, so a re-run of the same sweep (a retried schedule) does nothing twice.
          const key = `${options.sweepId}|${control.id}|${resource.arn}`;
          const guarded = await deps.guard.once(key, async () => {
            const verdicts = await control.detect({ resource }, ctx);
            const findings: FindingReport[] = [];
            for (const verdict of verdicts) {
              if (verdict.kind === "violation") findings.push(await handleFinding(control, verdict.finding, deps));
            }
            return { findings };
          });
          if (!guarded.replayed) report.findings.push(...guarded.result.findings);
        } catch (error) {
          report.failures.push({ control: control.id, resource: resource.arn, error: errorFields(error).message });
          await deps.log.append({
            stage: "failed",
            at: at(),
            control: control.id,
            hipaa: control.hipaa.sections,
            resource: resourceFields(resource),
            reason: `sweep ${options.sweepId}: detection failed`,
            error: errorFields(error),
          });
        }
      }
    } catch (error) {
      report.failures.push({ control: control.id, error: errorFields(error).message });
      await deps.log.append({
        stage: "failed",
        at: at(),
        control: control.id,
        reason: `sweep ${options.sweepId}: listing resources failed`,
        error: errorFields(error),
      });
    }
  }
  return report;
}
