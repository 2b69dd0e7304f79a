import { z } from "zod";

/**
 * Schemas for the shapes CloudTrail data arrives in. They are deliberately loose: they check only the fields
 * the engine relies on, accept every variant seen in real captures (nulls, numeric account ids, JSON-encoded
 * parameter objects, the placeholder "..."), and keep unknown keys. Informational fields the engine merely
 * copies (userAgent, sourceIPAddress, errorMessage, readOnly) are not checked here; the normaliser keeps them
 * only when they have the expected type.
 */

export const CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail";
/** Console sign-ins (ConsoleLogin, PasswordUpdated, ...) are CloudTrail records too, delivered under their own detail-type. */
export const CONSOLE_SIGN_IN_DETAIL_TYPE = "AWS Console Sign In via CloudTrail";
/** The detail-types whose `detail` is a CloudTrail record the engine ingests. */
export const CLOUDTRAIL_DETAIL_TYPES = [CLOUDTRAIL_DETAIL_TYPE, CONSOLE_SIGN_IN_DETAIL_TYPE] as const;
export type CloudTrailDetailType = (typeof CLOUDTRAIL_DETAIL_TYPES)[number];

export function isCloudTrailDetailType(value: unknown): value is CloudTrailDetailType {
  return value === CLOUDTRAIL_DETAIL_TYPE || value === CONSOLE_SIGN_IN_DETAIL_TYPE;
}

/** Redacted or hand-written samples put this where a value was. It means "no value". */
export const PLACEHOLDER = "...";

const optionalText = z.string().nullish();
const accountIdSchema = z.union([z.string(), z.number()]);
const jsonObjectSchema = z.record(z.string(), z.unknown());

/**
 * Some pipelines store `requestParameters`/`responseElements` as a JSON string; decode it so controls see an
 * object. The placeholder counts as absent. Anything else is left for the schema to reject.
 */
function decodeEmbeddedObject(value: unknown): unknown {
  if (typeof value !== "string") return value;
  if (value === PLACEHOLDER) return null;
  if (!value.trimStart().startsWith("{")) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function placeholderAsAbsent(value: unknown): unknown {
  return value === PLACEHOLDER ? undefined : value;
}

const parameterObject = z.preprocess(decodeEmbeddedObject, jsonObjectSchema.nullish());

const apiCallName = z.string().refine((name) => name !== "" && name !== PLACEHOLDER, {
  message: 'expected an API call name, got an empty string or the placeholder "..."',
});

export const userIdentitySchema = z.looseObject({
  type: optionalText,
  arn: optionalText,
  principalId: optionalText,
  accountId: accountIdSchema.nullish(),
  userName: optionalText,
  invokedBy: optionalText,
  sessionContext: z
    .looseObject({
      sessionIssuer: z.looseObject({ arn: optionalText }).nullish(),
    })
    .nullish(),
});

/** One CloudTrail record, as in a log file's `Records` or an EventBridge envelope's `detail`. */
export const cloudTrailRecordSchema = z.looseObject({
  eventName: apiCallName,
  eventSource: apiCallName,
  eventTime: optionalText,
  eventID: optionalText,
  awsRegion: optionalText,
  recipientAccountId: accountIdSchema.nullish(),
  userIdentity: z.preprocess(placeholderAsAbsent, userIdentitySchema.nullish()),
  requestParameters: parameterObject,
  responseElements: parameterObject,
  errorCode: optionalText,
  eventType: optionalText,
});
export type CloudTrailRecord = z.infer<typeof cloudTrailRecordSchema>;

/** Any EventBridge event. Only `detail-type` tells a CloudTrail API call from the rest. */
export const eventBridgeEnvelopeSchema = z.looseObject({
  id: optionalText,
  "detail-type": z.string(),
  source: optionalText,
  account: accountIdSchema.nullish(),
  time: optionalText,
  region: optionalText,
  detail: jsonObjectSchema,
});
export type EventBridgeEnvelope = z.infer<typeof eventBridgeEnvelopeSchema>;

/** An EventBridge envelope carrying a CloudTrail record: an API call or a console sign-in. */
export const cloudTrailEnvelopeSchema = eventBridgeEnvelopeSchema.extend({
  "detail-type": z.enum(CLOUDTRAIL_DETAIL_TYPES),
  detail: cloudTrailRecordSchema,
});
export type CloudTrailEnvelope = z.infer<typeof cloudTrailEnvelopeSchema>;

/**
 * One record of a Lambda SQS event. Its `body` is the JSON text of an EventBridge envelope (the queue is an
 * EventBridge target); `parseSqsRecord` parses it with `cloudTrailEnvelopeSchema`'s rules.
 */
export const sqsRecordSchema = z.looseObject({
  messageId: z.string().min(1),
  receiptHandle: z.string().optional(),
  body: z.string(),
  attributes: z.looseObject({}).optional(),
  messageAttributes: z.looseObject({}).optional(),
  md5OfBody: z.string().optional(),
  eventSource: z.string().optional(),
  eventSourceARN: z.string().optional(),
  awsRegion: z.string().optional(),
});
export type SqsRecord = z.infer<typeof sqsRecordSchema>;

/**
 * A raw CloudTrail log file as delivered to S3. Records are checked one by one by the normaliser, so one bad
 * record never hides the others.
 */
export const cloudTrailLogFileSchema = z.looseObject({
  Records: z.array(z.unknown()),
});
export type CloudTrailLogFile = z.infer<typeof cloudTrailLogFileSchema>;
