import { Cron, type StackContext } from "sst/constructs";
import { useDeployment } from "./lib/deployment";
import { ENV } from "./lib/remediator";
import { remediatorFunction } from "./lib/remediator-function";
import { SWEEP_TIMEOUT } from "./lib/timeouts";

/**
 * The scheduled full-account sweep: lists every control's resources and runs them through the same pipeline as
 * events, catching what events missed (changes made before deployment, lost events).
 */
export function Sweep(context: StackContext) {
  const { app, stack } = context;
  const { settings } = useDeployment(app);

  const sweep = remediatorFunction(context, "SweepFunction", {
    purpose: "sweep",
    handler: "packages/functions/src/sweep.handler",
    description: "hipaa-remediate sweep: scheduled full-account assessment through the engine pipeline",
    timeout: SWEEP_TIMEOUT,
    environment: { [ENV.sweepRegions]: settings.sweepRegions.join(",") },
  });
  const schedule = new Cron(stack, "SweepSchedule", {
    schedule: settings.sweepSchedule,
    // A failed sweep simply runs again at the next schedule; retrying a 15-minute scan at once is not worth it.
    job: { function: sweep.fn, cdk: { target: { retryAttempts: 0 } } },
  });
  return { sweep, schedule };
}
