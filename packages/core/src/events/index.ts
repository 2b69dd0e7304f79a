export * from "./change-event";
export type {
  IgnoredResult,
  IngestResult,
  ListenScreen,
  RejectedResult,
  ScreenedCall,
  ScreenedResult,
  UnmatchedResult,
  ValueSite,
} from "./ingest-result";
export {
  CLOUDTRAIL_DETAIL_TYPE,
  CLOUDTRAIL_DETAIL_TYPES,
  CONSOLE_SIGN_IN_DETAIL_TYPE,
  isCloudTrailDetailType,
  cloudTrailEnvelopeSchema,
  cloudTrailLogFileSchema,
  cloudTrailRecordSchema,
  eventBridgeEnvelopeSchema,
  sqsRecordSchema,
  userIdentitySchema,
  type CloudTrailDetailType,
  type CloudTrailEnvelope,
  type CloudTrailLogFile,
  type CloudTrailRecord,
  type EventBridgeEnvelope,
  type SqsRecord,
} from "./schemas";
export { RECHECK_FIELD, hasCloudTrailRecordShape, normaliseRecord } from "./normalise";
export { recheckEnvelope } from "./recheck-envelope";
export { scalarParam } from "./params";
export { parseSqsRecord } from "./sqs";
export { DIGEST_REASON, ingestValue } from "./classify";
export { JsonValueSplitter, type SplitItem } from "./json-splitter";
export {
  InputPathError,
  readChangeEventBatches,
  readChangeEvents,
  readChangeEventsFromStream,
  readScreenedChangeEventBatches,
  readScreenedChangeEventsFromStream,
  type ByteSource,
  type ReadChangeEventsOptions,
  type IngestProgress,
} from "./read";
export { jsonSyntaxProblem, type JsonSyntaxProblem } from "./json-syntax";
