import { describeIssues } from "./describe-issues";
import { atPath, joinPath, rejected, type IngestResult, type ValueSite } from "./ingest-result";
import { jsonSyntaxProblem } from "./json-syntax";
import { normaliseAt } from "./normalise";
import { isObjectValue, text } from "./record-fields";
import { sqsRecordSchema } from "./schemas";

/** An SQS record as Lambda delivers it; cheap enough to test every value a file holds. */
export function looksLikeSqsRecord(value: Record<string, unknown>): boolean {
  return value.eventSource === "aws:sqs" && typeof value.messageId === "string" && "body" in value;
}

/** Parses an SQS record found at `site` (a Lambda event, or a file of them). */
export function parseSqsRecordAt(record: unknown, site: ValueSite): IngestResult {
  const parsed = sqsRecordSchema.safeParse(record, { reportInput: true });
  if (!parsed.success) return rejected(site.source, describeIssues(parsed.error.issues, site.path));
  const bodyPath = joinPath(site.path, "body");
  let body: unknown;
  try {
    body = JSON.parse(parsed.data.body);
  } catch (error) {
    return rejected(site.source, atPath(bodyPath, `not valid JSON (${jsonSyntaxProblem(error).message})`));
  }
  if (isObjectValue(body) && Array.isArray(body.Records)) {
    return rejected(
      site.source,
      atPath(bodyPath, `holds a CloudTrail log file of ${body.Records.length} records; a message must carry one EventBridge event`),
    );
  }
  return normaliseAt(body, { source: site.source, path: bodyPath });
}

/**
 * One record of a Lambda SQS event whose body is an EventBridge envelope around a CloudTrail record (a bare
 * record is accepted too). The result's source is `sqs:<messageId>`, so a rejection names the message to
 * report in `batchItemFailures` or to find in the dead-letter queue.
 */
export function parseSqsRecord(record: unknown): IngestResult {
  const messageId = isObjectValue(record) ? text(record.messageId) : undefined;
  return parseSqsRecordAt(record, { source: `sqs:${messageId ?? "unknown"}`, path: "" });
}
