import { Api, use, type StackContext } from "sst/constructs";
import { AuditLog } from "./AuditLog";
import { State } from "./State";
import { useDeployedPolicy } from "./lib/deployment";
import { serviceFunction } from "./lib/functions";
import { sendAccess, workQueue } from "./lib/queues";
import { ENV, logAppendAccess } from "./lib/remediator";
import { remediatorFunction } from "./lib/remediator-function";
import { APPROVAL_WORKER_TIMEOUT, SLACK_INTERACTIVITY_TIMEOUT } from "./lib/timeouts";

export const SLACK_INTERACTIVITY_ROUTE = "POST /slack/interactivity";
const SLACK_INTERACTIVITY_PATH = "/slack/interactivity";

/**
 * Slack approvals. The interactivity endpoint only verifies the request and queues the action, so Slack gets its
 * answer within 3 seconds; the worker re-checks the resource, applies, verifies and updates the message.
 */
export function Approvals(context: StackContext) {
  const { app, stack } = context;
  const policy = useDeployedPolicy(app);
  const { log } = use(AuditLog);
  const { slackSigningSecret } = use(State);

  const approvals = workQueue(stack, "ApprovalsQueue", {
    consumerTimeout: APPROVAL_WORKER_TIMEOUT,
    description: "Slack approvals queue",
  });

  const interactivity = serviceFunction(stack, "SlackInteractivity", {
    handler: "packages/functions/src/slack-interactivity.handler",
    description: "hipaa-remediate Slack interactivity: verifies Slack's signature, logs and queues the action",
    timeout: SLACK_INTERACTIVITY_TIMEOUT,
    environment: {
      ...policy.environment,
      [ENV.approvalsQueueUrl]: approvals.queue.queueUrl,
      [ENV.logTable]: log.table.tableName,
      [ENV.serviceName]: "hipaa-remediate-slack-interactivity",
    },
    // It logs each acknowledgement (who clicked what) before queueing the work.
    statements: [sendAccess("SendApprovals", approvals.queue), logAppendAccess(log)],
    secrets: [slackSigningSecret],
    copyFiles: policy.copyFiles,
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
    consumes: { queue: approvals.queue, batchSize: 1 },
  });

  stack.addOutputs({
    SlackInteractivityUrl: `${api.url}${SLACK_INTERACTIVITY_PATH}`,
    ApprovalsQueueUrl: approvals.queue.queueUrl,
    ApprovalsDeadLetterQueueUrl: approvals.deadLetterQueue.queueUrl,
  });
  return { api, approvals, interactivity, worker };
}
