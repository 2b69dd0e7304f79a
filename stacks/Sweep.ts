import { controls } from "@hipaa-remediate/remediations";
import { Cron, use, type StackContext } from "sst/constructs";
import { AuditLog } from "./AuditLog";
import { State } from "./State";
import { useDeployedPolicy, useDeployment } from "./lib/deployment";
import { ENV } from "./lib/remediator";
import { failedRunsQueue } from "./lib/queues";
import { remediatorFunction } from "./lib/remediator-function";
import { riskAssessment } from "./lib/risk-assessment";
import { sweepRegionsFor } from "./lib/settings";
import { SWEEP_TIMEOUT } from "./lib/timeouts";

/**
 * The scheduled full-account sweep: lists every control's resources and runs them through the same pipeline as
 * events, catching what events missed (changes made before deployment, lost events).
 */
export function Sweep(context: StackContext) {
  const { app, stack } = context;
  const { settings } = useDeployment(app);
  const policy = useDeployedPolicy(app);
  const sweepRegions = sweepRegionsFor(settings, policy.policy.scope);

  const sweep = remediatorFunction(context, "SweepFunction", {
    purpose: "sweep",
    handler: "packages/functions/src/sweep.handler",
    description: "hipaa-remediate sweep: scheduled full-account assessment through the engine pipeline",
    timeout: SWEEP_TIMEOUT,
    // Lambda's own retries of the asynchronous invocation: none, for the reason below.
    onFailure: { queue: failedRunsQueue(stack, "SweepFailedRuns", "Sweep"), retryAttempts: 0 },
    environment: { [ENV.sweepRegions]: sweepRegions.join(",") },
  });
  const schedule = new Cron(stack, "SweepSchedule", {
    schedule: settings.sweepSchedule,
    // A failed sweep simply runs again at the next schedule; retrying a 15-minute scan at once is not worth it.
    job: { function: sweep.fn, cdk: { target: { retryAttempts: 0 } } },
  });
  // The risk analysis (164.308(a)(1)(ii)(A)): the same sweep in dry-run, with its report stored (lib/risk-assessment.ts).
  const { log } = use(AuditLog);
  const { proposals, exemptions } = use(State);
  const assessment = riskAssessment(stack, {
    schedule: settings.riskAssessmentSchedule,
    sweepRegions,
    policy,
    controls,
    tables: { log, proposals, exemptions },
  });
  stack.addOutputs({ RiskAssessmentBucketName: assessment.bucket.bucketName });
  return { sweep, schedule, assessment };
}
