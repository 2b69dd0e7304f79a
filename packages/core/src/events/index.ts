export * from "./change-event";
export type { IgnoredResult, IngestResult, RejectedResult, ValueSite } from "./ingest-result";
export {
  CLOUDTRAIL_DETAIL_TYPE,
  cloudTrailEnvelopeSchema,
  cloudTrailLogFileSchema,
  cloudTrailRecordSchema,
  eventBridgeEnvelopeSchema,
  sqsRecordSchema,
  userIdentitySchema,
  type CloudTrailEnvelope,
  type CloudTrailLogFile,
  type CloudTrailRecord,
  type EventBridgeEnvelope,
  type SqsRecord,
} from "./schemas";
export { hasCloudTrailRecordShape, normaliseRecord } from "./normalise";
export { scalarParam } from "./params";
export { parseSqsRecord } from "./sqs";
export { DIGEST_REASON, ingestValue } from "./classify";
export { JsonValueSplitter, type SplitItem } from "./json-splitter";
export {
  InputPathError,
  readChangeEvents,
  readChangeEventsFromStream,
  type ByteSource,
  type ReadChangeEventsOptions,
  type IngestProgress,
} from "./read";
export { jsonSyntaxProblem, type JsonSyntaxProblem } from "./json-syntax";
