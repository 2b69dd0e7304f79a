import type { JsonObject } from "../support/json";

/** Who made a change, reduced from CloudTrail's `userIdentity`. Every field is optional because real records omit them. */
export interface Actor {
  /** `userIdentity.type`: IAMUser, AssumedRole, Root, AWSService, AWSAccount, ... or "Unknown" when absent. */
  type: string;
  arn?: string;
  principalId?: string;
  accountId?: string;
  userName?: string;
  /** For assumed roles: the role ARN behind the session (`sessionContext.sessionIssuer.arn`). */
  issuerArn?: string;
  invokedBy?: string;
  /** `sessionContext.attributes.mfaAuthenticated`: whether the session was signed in with MFA, when recorded. */
  mfaAuthenticated?: boolean;
  userAgent?: string;
  sourceIp?: string;
}

/** One normalised CloudTrail management event. */
export interface ChangeEvent {
  id: string;
  /** ISO-8601 time of the call. */
  time: string;
  /** Always a string, even when the source record carried a number or a malformed id. */
  account: string;
  region: string;
  actor: Actor;
  /** `eventSource`, for example `s3.amazonaws.com`. */
  source: string;
  /** `eventName`, for example `PutBucketEncryption`. */
  name: string;
  request: JsonObject | null;
  response: JsonObject | null;
  errorCode?: string;
  errorMessage?: string;
  readOnly?: boolean;
  /** `AwsApiCall`, `AwsConsoleSignIn`, ... */
  eventType?: string;
  /**
   * CloudTrail's `additionalEventData`, when it is an object: for console sign-ins it says whether MFA was used
   * (`MFAUsed`). Only set when the record has one.
   */
  additional?: JsonObject;
  /** Where the record was read from: file path and position, or SQS message id. Used in rejections and logs. */
  origin: string;
  /** Set on an event the engine re-delivered to itself to look again (1 for the first re-check). */
  recheck?: number;
}

/** The part of an event a finding or log entry keeps: enough to trace it, nothing of the request body. */
export interface EventRef {
  id: string;
  name: string;
  source: string;
  time: string;
  actor: string;
}

export function eventRef(event: ChangeEvent): EventRef {
  return {
    id: event.id,
    name: event.name,
    source: event.source,
    time: event.time,
    actor: event.actor.arn ?? event.actor.userName ?? event.actor.invokedBy ?? event.actor.type,
  };
}
