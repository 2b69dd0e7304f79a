import type { AnyControl, LiveContext } from "../controls/contract";
import { ReadCache } from "../support/read-cache";
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
 * What one control's part of a sweep saw, logged in the `sweep-completed` entry: the posture an audit report
 * shows. `outOfCompliance` counts distinct resources with a violation; `complete` is false when listing failed part
 * way, so the counts cover only the resources listed before the failure.
 */
export interface SweepControlCounts {
  control: string;
  resourcesChecked: number;
  outOfCompliance: number;
  failures: number;
  complete: boolean;
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
  // One cache for the whole run: each resource type is listed once per region and each resource's tags read once,
  // however many controls look at it.
  const reads = new ReadCache();
  const perControl: SweepControlCounts[] = [];
  // A control the policy disables would only produce suppressed findings: it is not swept at all.
  const swept = (options.controls ?? deps.index.controls).filter((control) => deps.policy.controls[control.id]?.enabled !== false);
  for (const control of swept) {
    const ctx: LiveContext = { ...controlContext(control, deps, reads), aws: deps.aws };
    const counts: SweepControlCounts = { control: control.id, resourcesChecked: 0, outOfCompliance: 0, failures: 0, complete: true };
    perControl.push(counts);
    try {
      for await (const resource of control.sweep(ctx)) {
        report.resources += 1;
        counts.resourcesChecked += 1;
        options.onResource?.(control.id, resource.arn);
        try {
          // A sweep is keyed by its id, so a re-run of the same sweep (a retried schedule) does nothing twice.
          const key = `${options.sweepId}|${control.id}|${resource.arn}`;
          const guarded = await deps.guard.once(key, async () => {
            const verdicts = await control.detect({ resource }, ctx);
            const findings: FindingReport[] = [];
            for (const verdict of verdicts) {
              if (verdict.kind === "violation") findings.push(await handleFinding(control, verdict.finding, deps, undefined, { reads }));
            }
            return { findings };
          });
          if (!guarded.replayed) {
            report.findings.push(...guarded.result.findings);
            if (guarded.result.findings.length > 0) counts.outOfCompliance += 1;
          }
        } catch (error) {
          counts.failures += 1;
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
      counts.failures += 1;
      counts.complete = false;
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
  await deps.log.append({
    stage: "sweep-completed",
    at: at(),
    reason: `sweep ${options.sweepId}: ${report.resources} resources checked, ${report.findings.length} findings, ${report.failures.length} failures`,
    details: { sweepId: options.sweepId, controls: perControl.map((counts) => ({ ...counts })) },
  });
  return report;
}
