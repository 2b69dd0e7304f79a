import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import {
  approvalDepsFromEngine,
  firstIssue,
  processAction,
  verifiedActionSchema,
  type ActionResult,
  type ApprovalDeps,
  type VerifiedAction,
} from "@hipaa-remediate/core";
import { WebClient } from "@slack/web-api";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { once, readSlackSecret } from "./wiring/runtime";

/** An approvals queue message that is not a verified action; it names the SQS message and the field at fault. */
export class InvalidApprovalMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InvalidApprovalMessageError";
  }
}

export function parseApprovalMessage(record: Pick<SQSRecord, "messageId" | "body">): VerifiedAction {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch (error) {
    throw new InvalidApprovalMessageError(`SQS message ${record.messageId}: body is not JSON`, { cause: error });
  }
  const result = verifiedActionSchema.safeParse(json);
  if (!result.success) {
    const { field, message } = firstIssue(result.error, "body");
    throw new InvalidApprovalMessageError(`SQS message ${record.messageId}: ${field}: ${message}`, { cause: result.error });
  }
  return result.data;
}

/**
 * The approval worker: one verified Slack action per SQS record. Records are independent; a failed one is
 * reported in `batchItemFailures` and retried on its own. A retried approval is safe: the proposal's atomic
 * status transition (pending -> applying, under this invocation's lease) lets only the first delivery act, and if
 * the invocation dies mid-apply the proposal housekeeping closes it once the lease runs out.
 */
export function createApprovalWorker(getDeps: () => Promise<ApprovalDeps>) {
  const processor = new BatchProcessor(EventType.SQS);
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const deps = await getDeps();
    return processPartialResponse(
      event,
      async (record: SQSRecord): Promise<ActionResult> => {
        const action = parseApprovalMessage(record);
        const result = await processAction(action, deps);
        deps.logger.info("processed Slack action", {
          messageId: record.messageId,
          kind: action.kind,
          proposalId: action.proposalId,
          result,
        });
        return result;
      },
      processor,
      { ...(context ? { context } : {}), throwOnFullBatchFailure: false },
    );
  };
}

/**
 * Deployed wiring: the engine's own dependencies (policy, stores including the exemptions table, control
 * registry, AWS clients) from the engine Lambda's wiring, plus the Slack client.
 */
async function deployedApprovalDeps(): Promise<ApprovalDeps> {
  // Loaded on first use so tests of createApprovalWorker never read the deployed environment.
  const { deployedEngineDeps } = await import("./wiring/deployed");
  const engine = await deployedEngineDeps();
  return approvalDepsFromEngine(engine, { slack: new WebClient(await readSlackSecret("SLACK_BOT_TOKEN")) });
}

export const handler = createApprovalWorker(once(deployedApprovalDeps));
