import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { handleSqsRecord, type EngineDeps } from "@hipaa-remediate/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { deployedEngineDeps } from "./wiring/deployed";

/**
 * The engine Lambda: an SQS batch in, `batchItemFailures` out. Each record is processed on its own, so a
 * poison record is retried (and ends in the DLQ) without failing its neighbours.
 */
export function createEngineHandler(getDeps: () => Promise<EngineDeps>) {
  const processor = new BatchProcessor(EventType.SQS);
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const deps = await getDeps();
    if (context) deps.guard.registerLambdaContext(context);
    return processPartialResponse(event, (record: SQSRecord) => handleSqsRecord(record, deps), processor, {
      ...(context ? { context } : {}),
      // A batch where every record failed is still a per-record answer; throwing would hide which ones.
      throwOnFullBatchFailure: false,
    });
  };
}

export const handler = createEngineHandler(deployedEngineDeps);
