import { describe, expect, it } from "vitest";
import {
  cloudTrailEnvelopeSchema,
  cloudTrailRecordSchema,
  hasCloudTrailRecordShape,
  ingestValue,
  normaliseRecord,
} from "@hipaa-remediate/core";
import { assumedRoleIdentity, consoleSignInRecord, eventBridgeEnvelope, rootIdentity } from "../../support/cloudtrail";
import { eventOf, fixedRecord, kindsOf, reasonOf } from "./helpers";

describe("normaliseRecord: documented shapes", () => {
  it("normalises an IAM user's call with every field the engine reads", () => {
    const record = fixedRecord(1, {
      eventSource: "s3.amazonaws.com",
      eventName: "PutBucketEncryption",
      requestParameters: { bucketName: "phi-claims", Host: "phi-claims.s3.us-east-1.amazonaws.com", encryption: "" },
    });
    const event = eventOf(normaliseRecord(record, "test#1"));
    expect(event).toEqual({
      id: "00000000-0000-4000-8000-000000000001",
      time: "2024-01-01T00:00:01Z",
      account: "123456789012",
      region: "us-east-1",
      actor: {
        type: "IAMUser",
        arn: "arn:aws:iam::123456789012:user/alice",
        principalId: "AIDAEXAMPLEUSERID0001",
        accountId: "123456789012",
        userName: "alice",
        issuerArn: undefined,
        invokedBy: undefined,
        userAgent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
        sourceIp: "203.0.113.10",
      },
      source: "s3.amazonaws.com",
      name: "PutBucketEncryption",
      request: { bucketName: "phi-claims", Host: "phi-claims.s3.us-east-1.amazonaws.com", encryption: "" },
      response: null,
      readOnly: false,
      eventType: "AwsApiCall",
      origin: "test#1",
    });
  });

  it("names the role behind an assumed-role session", () => {
    const record = fixedRecord(2, { userIdentity: assumedRoleIdentity("EngineRole", "engine-session") });
    const event = eventOf(normaliseRecord(record, "test"));
    expect(event.actor).toMatchObject({
      type: "AssumedRole",
      arn: "arn:aws:sts::123456789012:assumed-role/EngineRole/engine-session",
      issuerArn: "arn:aws:iam::123456789012:role/EngineRole",
    });
  });

  it("keeps the invoking service of an AWS service call", () => {
    const record = fixedRecord(3, { userIdentity: { type: "AWSService", invokedBy: "config.amazonaws.com" } });
    expect(eventOf(normaliseRecord(record, "test")).actor).toMatchObject({ type: "AWSService", invokedBy: "config.amazonaws.com" });
  });

  it("reads a CloudTrail envelope and fills gaps in the record from the envelope", () => {
    const record = fixedRecord(4);
    delete record.recipientAccountId;
    delete record.awsRegion;
    delete record.userIdentity;
    const envelope = { ...eventBridgeEnvelope(record), account: "210987654321", region: "eu-west-1" };
    const event = eventOf(normaliseRecord(envelope, "envelope"));
    expect(event).toMatchObject({ account: "210987654321", region: "eu-west-1", name: "PutBucketEncryption", actor: { type: "Unknown" } });
  });
});

describe("normaliseRecord: tolerance of real-world shapes", () => {
  it("treats null or absent requestParameters and responseElements as null", () => {
    const nulls = fixedRecord(5, { eventSource: "ec2.amazonaws.com", eventName: "DisableEbsEncryptionByDefault", requestParameters: null });
    const absent = fixedRecord(6);
    delete absent.requestParameters;
    delete absent.responseElements;
    expect(eventOf(normaliseRecord(nulls, "t"))).toMatchObject({ request: null, response: null });
    expect(eventOf(normaliseRecord(absent, "t"))).toMatchObject({ request: null, response: null });
  });

  it("leaves S3 list-valued parameters as they are for controls to read", () => {
    const record = fixedRecord(7, {
      eventName: "PutBucketAcl",
      requestParameters: { bucketName: ["phi-x"], host: ["phi-x.s3.amazonaws.com"], acl: [""] },
    });
    expect(eventOf(normaliseRecord(record, "t")).request).toEqual({ bucketName: ["phi-x"], host: ["phi-x.s3.amazonaws.com"], acl: [""] });
  });

  it("gives actor type Unknown when userIdentity is missing or a placeholder", () => {
    const missing = fixedRecord(8);
    delete missing.userIdentity;
    const placeholder = fixedRecord(9, { userIdentity: undefined });
    placeholder.userIdentity = "...";
    expect(eventOf(normaliseRecord(missing, "t")).actor.type).toBe("Unknown");
    expect(eventOf(normaliseRecord(placeholder, "t")).actor.type).toBe("Unknown");
  });

  it("turns account ids into strings, restoring the leading zeros a JSON number lost", () => {
    const numeric = { ...fixedRecord(10), recipientAccountId: 12345678901 };
    const short = { ...fixedRecord(11), recipientAccountId: "0000000000" };
    expect(eventOf(normaliseRecord(numeric, "t")).account).toBe("012345678901");
    expect(eventOf(normaliseRecord(short, "t")).account).toBe("0000000000");
  });

  it("falls back recipientAccountId -> userIdentity.accountId -> envelope account -> unknown", () => {
    const fromIdentity = fixedRecord(12, { account: "111122223333" });
    delete fromIdentity.recipientAccountId;
    expect(eventOf(normaliseRecord(fromIdentity, "t")).account).toBe("111122223333");

    const bare = fixedRecord(13, { userIdentity: { type: "AWSService", invokedBy: "ec2.amazonaws.com" } });
    delete bare.recipientAccountId;
    expect(eventOf(normaliseRecord(bare, "t")).account).toBe("unknown");
    expect(eventOf(normaliseRecord({ ...eventBridgeEnvelope(bare), account: 444455556666 }, "t")).account).toBe("444455556666");
  });

  it('reads the placeholder "..." as no value', () => {
    const record = {
      ...fixedRecord(14),
      awsRegion: "...",
      recipientAccountId: "...",
      userIdentity: { type: "...", userName: "...", accountId: "..." },
    };
    const event = eventOf(normaliseRecord(record, "t"));
    expect(event).toMatchObject({ region: "unknown", account: "unknown", actor: { type: "Unknown", userName: undefined } });
  });

  it("decodes parameters a pipeline stored as JSON text, and names the field when it is other text", () => {
    const encoded = { ...fixedRecord(15), requestParameters: '{"bucketName": "phi-x"}' };
    expect(eventOf(normaliseRecord(encoded, "t")).request).toEqual({ bucketName: "phi-x" });
    const prose = { ...fixedRecord(16), responseElements: "accepted" };
    expect(reasonOf(normaliseRecord(prose, "t"))).toBe("responseElements: expected an object, got string");
  });

  it("reads readOnly written as text", () => {
    expect(eventOf(normaliseRecord({ ...fixedRecord(17), readOnly: "True" }, "t")).readOnly).toBe(true);
    expect(eventOf(normaliseRecord({ ...fixedRecord(18), readOnly: 1 }, "t")).readOnly).toBeUndefined();
  });

  it("accepts the timestamp spellings of exports and rewrites them as ISO-8601 UTC", () => {
    const spaced = { ...fixedRecord(19), eventTime: "2023-05-26 20:14:51" };
    const nanos = { ...fixedRecord(20), eventTime: "2025-01-21 17:49:47.000000000" };
    const logstash: Record<string, unknown> = { ...fixedRecord(21), "@timestamp": "2020-09-14T00:44:23.000Z" };
    delete logstash.eventTime;
    expect(eventOf(normaliseRecord(spaced, "t")).time).toBe("2023-05-26T20:14:51.000Z");
    expect(eventOf(normaliseRecord(nanos, "t")).time).toBe("2025-01-21T17:49:47.000Z");
    expect(eventOf(normaliseRecord(logstash, "t")).time).toBe("2020-09-14T00:44:23.000Z");
  });

  it("gives records without eventID a stable derived id", () => {
    const record = fixedRecord(22);
    delete record.eventID;
    const first = eventOf(normaliseRecord(record, "a")).id;
    expect(first).toMatch(/^derived-[0-9a-f]{32}$/);
    expect(eventOf(normaliseRecord(structuredClone(record), "b")).id).toBe(first);
    expect(eventOf(normaliseRecord({ ...record, eventName: "DeleteBucketEncryption" }, "c")).id).not.toBe(first);
  });
});

describe("normaliseRecord: what is not a change", () => {
  it("ignores a failed call, keeping its event id", () => {
    const result = normaliseRecord(fixedRecord(23, { errorCode: "AccessDenied", errorMessage: "denied" }), "file#Records[0]");
    expect(result).toEqual({
      kind: "ignored",
      source: "file#Records[0]",
      reason: "failed call (AccessDenied): not a change",
      eventId: "00000000-0000-4000-8000-000000000023",
    });
  });

  it("ignores EventBridge events that are not CloudTrail API calls, naming the detail-type", () => {
    const result = normaliseRecord(
      { version: "0", id: "e1", "detail-type": "EC2 Instance State-change Notification", source: "aws.ec2", detail: { state: "running" } },
      "t",
    );
    expect(result).toMatchObject({
      kind: "ignored",
      reason: 'EventBridge event of detail-type "EC2 Instance State-change Notification" is not a CloudTrail API call or console sign-in',
    });
  });

  it("reads console sign-ins, successful or failed, with their additionalEventData", () => {
    const signIn = consoleSignInRecord({ userIdentity: rootIdentity(), mfaUsed: false, result: "Failure" });
    const envelope = eventBridgeEnvelope(signIn);
    expect(envelope["detail-type"]).toBe("AWS Console Sign In via CloudTrail");
    expect(cloudTrailEnvelopeSchema.safeParse(envelope).success).toBe(true);
    const result = normaliseRecord(envelope, "t");
    if (result.kind !== "event") throw new Error(JSON.stringify(result));
    // A failed sign-in has an errorMessage but no errorCode: it is an attempt worth seeing, not a failed API call.
    expect(result.event).toMatchObject({
      source: "signin.amazonaws.com",
      name: "ConsoleLogin",
      eventType: "AwsConsoleSignIn",
      actor: { type: "Root" },
      response: { ConsoleLogin: "Failure" },
      additional: { MFAUsed: "No" },
    });
    expect(normaliseRecord({ ...signIn, additionalEventData: "not an object" }, "t")).not.toHaveProperty("event.additional");
  });

  it('reads a hand-written envelope whose detail-type is "..." by its detail', () => {
    const envelope = { ...eventBridgeEnvelope(fixedRecord(24)), "detail-type": "..." };
    expect(normaliseRecord(envelope, "t").kind).toBe("event");
  });

  it("ignores CloudTrail Insights events", () => {
    const insight = {
      eventVersion: "1.08",
      eventTime: "2024-01-01T00:00:00Z",
      awsRegion: "us-east-1",
      eventID: "i-1",
      eventType: "AwsCloudTrailInsight",
      recipientAccountId: "123456789012",
      insightDetails: {},
    };
    expect(normaliseRecord(insight, "t")).toMatchObject({ kind: "ignored", eventId: "i-1" });
  });
});

describe("normaliseRecord: rejections name the field", () => {
  it("names a field of the wrong type", () => {
    expect(normaliseRecord({ ...fixedRecord(25), eventName: 42 }, "t")).toEqual({
      kind: "rejected",
      source: "t",
      reason: "eventName: expected a string, got number",
    });
  });

  it("names a missing field, and paths inside an envelope start at detail", () => {
    const record = fixedRecord(26);
    delete record.eventSource;
    expect(reasonOf(normaliseRecord(record, "t"))).toBe("eventSource: expected a string, but it is missing");
    expect(reasonOf(normaliseRecord(eventBridgeEnvelope({ ...fixedRecord(27), eventName: null }), "t"))).toBe(
      "detail.eventName: expected a string, got null",
    );
  });

  it("names nested identity fields", () => {
    const record = { ...fixedRecord(28), userIdentity: { type: "IAMUser", arn: ["arn:aws:iam::1:user/a"] } };
    expect(reasonOf(normaliseRecord(record, "t"))).toBe("userIdentity.arn: expected a string, got an array");
  });

  it("rejects a placeholder API call name and a record without any time", () => {
    expect(reasonOf(normaliseRecord({ ...fixedRecord(29), eventName: "..." }, "t"))).toBe(
      'eventName: expected an API call name, got an empty string or the placeholder "..."',
    );
    const timeless = fixedRecord(30);
    delete timeless.eventTime;
    expect(reasonOf(normaliseRecord(timeless, "t"))).toMatch(/^eventTime: missing, and there is no envelope time or @timestamp/);
    expect(reasonOf(normaliseRecord({ ...fixedRecord(31), eventTime: "redacted" }, "t"))).toMatch(/^eventTime: not a timestamp/);
  });

  it("rejects values that are not objects", () => {
    expect(normaliseRecord("PutBucketAcl", "t")).toMatchObject({ kind: "rejected", reason: expect.stringMatching(/got string$/) });
  });
});

describe("hasCloudTrailRecordShape (the hot-path check) agrees with cloudTrailRecordSchema", () => {
  const base = fixedRecord(40);
  // "repaired": the schema accepts after decoding; the fast check hands those records to the schema.
  const variants: [string, Record<string, unknown>, "both" | "neither" | "repaired"][] = [
    ["documented record", base, "both"],
    ["numeric eventName", { ...base, eventName: 1 }, "neither"],
    ["empty eventName", { ...base, eventName: "" }, "neither"],
    ["no eventSource", { ...base, eventSource: undefined }, "neither"],
    ["null eventTime", { ...base, eventTime: null }, "both"],
    ["numeric eventTime", { ...base, eventTime: 5 }, "neither"],
    ["object eventID", { ...base, eventID: {} }, "neither"],
    ["null awsRegion", { ...base, awsRegion: null }, "both"],
    ["numeric account", { ...base, recipientAccountId: 1234 }, "both"],
    ["boolean account", { ...base, recipientAccountId: true }, "neither"],
    ["null identity", { ...base, userIdentity: null }, "both"],
    ["placeholder identity", { ...base, userIdentity: "..." }, "repaired"],
    ["array identity", { ...base, userIdentity: [] }, "neither"],
    ["numeric identity type", { ...base, userIdentity: { type: 1 } }, "neither"],
    ["numeric identity account", { ...base, userIdentity: { accountId: 1 } }, "both"],
    ["numeric issuer arn", { ...base, userIdentity: { sessionContext: { sessionIssuer: { arn: 5 } } } }, "neither"],
    ["text session context", { ...base, userIdentity: { sessionContext: "x" } }, "neither"],
    ["array parameters", { ...base, requestParameters: [] }, "neither"],
    ["JSON-text parameters", { ...base, requestParameters: '{"a":1}' }, "repaired"],
    ["numeric response", { ...base, responseElements: 3 }, "neither"],
    ["numeric errorCode", { ...base, errorCode: 403 }, "neither"],
    ["null eventType", { ...base, eventType: null }, "both"],
  ];
  it.each(variants)("%s", (_label, variant, expected) => {
    const schemaAccepts = cloudTrailRecordSchema.safeParse(variant).success;
    const fastAccepts = hasCloudTrailRecordShape(variant);
    expect({ schemaAccepts, fastAccepts }).toEqual({ schemaAccepts: expected !== "neither", fastAccepts: expected === "both" });
  });

  it("the exported envelope schema accepts a documented CloudTrail envelope", () => {
    expect(cloudTrailEnvelopeSchema.safeParse(eventBridgeEnvelope(base)).success).toBe(true);
  });
});

describe("ingestValue: any accepted shape, one result per record", () => {
  it("expands arrays and log files, with sources that locate each record", () => {
    const results = ingestValue(
      [{ Records: [fixedRecord(50), fixedRecord(51, { errorCode: "NoSuchBucket" })] }, eventBridgeEnvelope(fixedRecord(52))],
      "in.json",
    );
    expect(kindsOf(results)).toEqual(["event", "ignored", "event"]);
    expect(results.map((r) => (r.kind === "event" ? r.event.origin : r.source))).toEqual([
      "in.json#[0].Records[0]",
      "in.json#[0].Records[1]",
      "in.json#[1]",
    ]);
  });

  it("ignores digest files and rejects unknown objects naming their keys", () => {
    expect(ingestValue({ digestStartTime: "a", digestEndTime: "b", logFiles: [] }, "d.json")).toMatchObject([{ kind: "ignored" }]);
    expect(reasonOf(ingestValue({ data: 1, description: "x" }, "u.json")[0])).toBe(
      "not a CloudTrail record, EventBridge envelope or CloudTrail log file: no eventName, detail-type or Records key (keys: data, description)",
    );
    expect(reasonOf(ingestValue({ Records: { a: 1 } }, "r.json")[0])).toBe("Records: expected an array, got an object");
  });
});
