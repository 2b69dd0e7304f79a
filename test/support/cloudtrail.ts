import { randomUUID } from "node:crypto";
import { MOTO_ACCOUNT, MOTO_REGION } from "./moto";

/**
 * Builders for CloudTrail records and EventBridge envelopes in the shape AWS documents ("AWS API Call via
 * CloudTrail", and "AWS Console Sign In via CloudTrail" for sign-ins). Tests write their own events; the public
 * corpus is only read, never copied.
 */
export interface CloudTrailRecordInput {
  eventSource: string;
  eventName: string;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  awsRegion?: string;
  account?: string;
  eventTime?: Date;
  eventID?: string;
  errorCode?: string;
  errorMessage?: string;
  /** Defaults to an IAM user called "alice". */
  userIdentity?: Record<string, unknown>;
  userAgent?: string;
}

export function iamUserIdentity(userName = "alice", account = MOTO_ACCOUNT): Record<string, unknown> {
  return {
    type: "IAMUser",
    principalId: "AIDAEXAMPLEUSERID0001",
    arn: `arn:aws:iam::${account}:user/${userName}`,
    accountId: account,
    accessKeyId: "AKIAEXAMPLEKEYID0001",
    userName,
  };
}

/** The identity CloudTrail records when a role session (such as the engine's Lambda role) makes a call. */
export function assumedRoleIdentity(roleName: string, sessionName: string, account = MOTO_ACCOUNT): Record<string, unknown> {
  return {
    type: "AssumedRole",
    principalId: `AROAEXAMPLEROLEID0001:${sessionName}`,
    arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
    accountId: account,
    accessKeyId: "ASIAEXAMPLEKEYID0001",
    sessionContext: {
      sessionIssuer: {
        type: "Role",
        principalId: "AROAEXAMPLEROLEID0001",
        arn: `arn:aws:iam::${account}:role/${roleName}`,
        accountId: account,
        userName: roleName,
      },
      attributes: { creationDate: new Date().toISOString(), mfaAuthenticated: "false" },
    },
  };
}

export function cloudTrailRecord(input: CloudTrailRecordInput): Record<string, unknown> {
  const account = input.account ?? MOTO_ACCOUNT;
  const record: Record<string, unknown> = {
    eventVersion: "1.09",
    userIdentity: input.userIdentity ?? iamUserIdentity("alice", account),
    eventTime: (input.eventTime ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    eventSource: input.eventSource,
    eventName: input.eventName,
    awsRegion: input.awsRegion ?? MOTO_REGION,
    sourceIPAddress: "203.0.113.10",
    userAgent: input.userAgent ?? "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
    requestParameters: input.requestParameters ?? null,
    responseElements: input.responseElements ?? null,
    requestID: randomUUID(),
    eventID: input.eventID ?? randomUUID(),
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: "Management",
  };
  if (input.errorCode) record.errorCode = input.errorCode;
  if (input.errorMessage) record.errorMessage = input.errorMessage;
  return record;
}

/** The identity CloudTrail records for the account's root user. */
export function rootIdentity(account = MOTO_ACCOUNT): Record<string, unknown> {
  return { type: "Root", principalId: account, arn: `arn:aws:iam::${account}:root`, accountId: account };
}

export interface ConsoleSignInInput {
  userIdentity?: Record<string, unknown>;
  mfaUsed: boolean;
  result: "Success" | "Failure";
  account?: string;
  eventTime?: Date;
}

/**
 * A ConsoleLogin record as CloudTrail documents it: source signin.amazonaws.com, eventType AwsConsoleSignIn,
 * `additionalEventData.MFAUsed` "Yes"/"No" and `responseElements.ConsoleLogin` "Success"/"Failure" (a failure also
 * carries errorMessage "Failed authentication", and no errorCode). Root sign-ins are recorded in us-east-1.
 */
export function consoleSignInRecord(input: ConsoleSignInInput): Record<string, unknown> {
  const account = input.account ?? MOTO_ACCOUNT;
  const record = cloudTrailRecord({
    eventSource: "signin.amazonaws.com",
    eventName: "ConsoleLogin",
    awsRegion: "us-east-1",
    account,
    userIdentity: input.userIdentity ?? rootIdentity(account),
    requestParameters: null,
    responseElements: { ConsoleLogin: input.result },
    userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ...(input.eventTime ? { eventTime: input.eventTime } : {}),
    ...(input.result === "Failure" ? { errorMessage: "Failed authentication" } : {}),
  });
  return {
    ...record,
    readOnly: false,
    eventType: "AwsConsoleSignIn",
    additionalEventData: {
      LoginTo: "https://console.aws.amazon.com/console/home",
      MobileVersion: "No",
      MFAUsed: input.mfaUsed ? "Yes" : "No",
    },
  };
}

/** The detail-type EventBridge gives a record: console sign-ins have their own. */
export function detailTypeOf(record: Record<string, unknown>): string {
  return record.eventType === "AwsConsoleSignIn" ? "AWS Console Sign In via CloudTrail" : "AWS API Call via CloudTrail";
}

/** Wraps a record the way EventBridge delivers CloudTrail events to targets. */
export function eventBridgeEnvelope(record: Record<string, unknown>): Record<string, unknown> {
  const source = String(record.eventSource).replace(/\.amazonaws\.com$/, "");
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": detailTypeOf(record),
    source: `aws.${source}`,
    account: record.recipientAccountId,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}
