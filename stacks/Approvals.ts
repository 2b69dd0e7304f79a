import { controls } from "@hipaa-remediate/remediations";
import { Duration } from "aws-cdk-lib";
import { Api, Cron, use, type StackContext } from "sst/constructs";
import { useProject } from "sst/project.js";
import { AuditLog } from "./AuditLog";
import { State } from "./State";
import { useDeployedPolicy } from "./lib/deployment";
import { serviceFunction } from "./lib/functions";
import { anyOccurrenceAlarm } from "./lib/operations";
import { failedRunsQueue, sendAccess, workQueue } from "./lib/queues";
import { slackContextFiles } from "./lib/slack-context";
import { ENV, logAppendAccess } from "./lib/remediator";
import { tableAccess } from "./lib/tables";
import { remediatorFunction } from "./lib/remediator-function";
import { APPROVAL_WORKER_TIMEOUT, PROPOSAL_HOUSEKEEPING_TIMEOUT, SLACK_INTERACTIVITY_TIMEOUT } from "./lib/timeouts";

/** How often pending proposals are expired and reminded; expiry is in hours, so minutes of lag do not matter. */
export const PROPOSAL_HOUSEKEEPING_SCHEDULE = "rate(10 minutes)";

/** Approvals are people's clicks: two workers at a time (Lambda's minimum for an SQS mapping's maximum concurrency). */
export const APPROVAL_WORKER_MAX_CONCURRENCY = 2;

export const SLACK_INTERACTIVITY_ROUTE = "POST /slack/interactivity";
const SLACK_INTERACTIVITY_PATH = "/slack/interactivity";

/**
 * Slack approvals. The interactivity endpoint verifies the request and queues the action, so Slack gets its answer
 * within 3 seconds; the worker re-checks the resource, applies, verifies and updates the message. A click on Exempt
 * opens its form in the endpoint itself, before answering, because Slack's trigger_id expires too soon for a queue.
 */
export function Approvals(context: StackContext) {
  const { app, stack } = context;
  const policy = useDeployedPolicy(app);
  const { log } = use(AuditLog);
  const { proposals, slackSigningSecret, slackBotToken } = use(State);

  const approvals = workQueue(stack, "ApprovalsQueue", {
    consumerTimeout: APPROVAL_WORKER_TIMEOUT,
    description: "Slack approvals queue",
  });

  const slackContext = slackContextFiles(useProject().paths.root, app.stage, policy.policy, controls);
  const interactivity = serviceFunction(stack, "SlackInteractivity", {
    handler: "packages/functions/src/slack-interactivity.handler",
    description: "hipaa-remediate Slack interactivity: verifies Slack's signature, queues the action or opens the exemption form",
    timeout: SLACK_INTERACTIVITY_TIMEOUT,
    environment: {
      ...slackContext.environment,
      [ENV.approvalsQueueUrl]: approvals.queue.queueUrl,
      [ENV.logTable]: log.table.tableName,
      [ENV.proposalsTable]: proposals.table.tableName,
      [ENV.serviceName]: "hipaa-remediate-slack-interactivity",
    },
    // It logs refused interactions, and reads (never changes) the proposal whose exemption form it opens.
    statements: [
      sendAccess("SendApprovals", approvals.queue),
      logAppendAccess(log),
      tableAccess("ReadProposals", proposals, ["dynamodb:GetItem"]),
    ],
    // The bot token opens the exemption form and replies to the user when it cannot.
    secrets: [slackSigningSecret, slackBotToken],
    copyFiles: slackContext.copyFiles,
  });

  const api = new Api(stack, "SlackApi", {
    routes: { [SLACK_INTERACTIVITY_ROUTE]: interactivity.fn },
    // Slack calls server to server: no browser needs CORS.
    cors: false,
    // A public endpoint: throttled so a flood of forged requests cannot run up invocations.
    defaults: { throttle: { burst: 50, rate: 20 } },
    accessLog: { retention: "one_year" },
  });

  const worker = remediatorFunction(context, "ApprovalWorker", {
    purpose: "approval-worker",
    handler: "packages/functions/src/approval-worker.handler",
    description: "hipaa-remediate approval worker: applies fixes people approved in Slack",
    timeout: APPROVAL_WORKER_TIMEOUT,
    // One action per invocation: each is a person's decision, applied and reported on its own.
    consumes: { queue: approvals.queue, batchSize: 1, maxConcurrency: APPROVAL_WORKER_MAX_CONCURRENCY },
  });

  const housekeeping = serviceFunction(stack, "ProposalHousekeeping", {
    handler: "packages/functions/src/proposal-housekeeping.handler",
    description: "hipaa-remediate proposal housekeeping: expires overdue proposals and sends one reminder each",
    timeout: PROPOSAL_HOUSEKEEPING_TIMEOUT,
    environment: {
      ...policy.environment,
      [ENV.logTable]: log.table.tableName,
      [ENV.proposalsTable]: proposals.table.tableName,
      [ENV.serviceName]: "hipaa-remediate-proposal-housekeeping",
    },
    // Lists pending proposals (the byStatus index), moves them to expired, records reminders; logs each expiry.
    statements: [
      logAppendAccess(log),
      tableAccess("ExpireProposals", proposals, ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"]),
    ],
    secrets: [slackBotToken],
    copyFiles: policy.copyFiles,
    onFailure: { queue: failedRunsQueue(stack, "HousekeepingFailedRuns", "Proposal housekeeping"), retryAttempts: 0 },
  });
  const housekeepingSchedule = new Cron(stack, "ProposalHousekeepingSchedule", {
    schedule: PROPOSAL_HOUSEKEEPING_SCHEDULE,
    // The next run comes soon enough; a failed one is not retried on top of it.
    job: { function: housekeeping.fn, cdk: { target: { retryAttempts: 0 } } },
  });

  // A 5xx is Slack's click lost: the person sees an error, and the approval never reaches the worker.
  anyOccurrenceAlarm(
    stack,
    "SlackApiServerErrorsAlarm",
    api.cdk.httpApi.metricServerError({ period: Duration.minutes(5), statistic: "Sum" }),
    "Slack interactivity endpoint: 5xx responses",
  );

  stack.addOutputs({
    SlackInteractivityUrl: `${api.url}${SLACK_INTERACTIVITY_PATH}`,
    ApprovalsQueueUrl: approvals.queue.queueUrl,
    ApprovalsDeadLetterQueueUrl: approvals.deadLetterQueue.queueUrl,
  });
  return { api, approvals, interactivity, worker, housekeeping, housekeepingSchedule };
}
