import { describe, expect, it } from "vitest";
import { parseSqsRecord, readChangeEventsFromStream } from "@hipaa-remediate/core";
import { eventBridgeEnvelope } from "../../support/cloudtrail";
import { collect, eventOf, fixedRecord, kindsOf } from "./helpers";

/** A Lambda SQS event record, as documented for SQS event sources. */
function sqsRecord(body: string, messageId = "059f36b4-87a3-44ab-83d2-661975830a7d"): Record<string, unknown> {
  return {
    messageId,
    receiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
    body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: "1545082649183",
      SenderId: "AIDAIENQZJOLO23YVJ4VO",
      ApproximateFirstReceiveTimestamp: "1545082649185",
    },
    messageAttributes: {},
    md5OfBody: "e4e68fb7bd0e697a0ae8f1bb342846b3",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:engine-queue",
    awsRegion: "us-east-1",
  };
}

describe("parseSqsRecord", () => {
  it("reads the EventBridge envelope in the body; the event's origin is the message id", () => {
    const envelope = eventBridgeEnvelope(fixedRecord(1));
    delete envelope.account; // moto's EventBridge -> SQS body has no account
    const event = eventOf(parseSqsRecord(sqsRecord(JSON.stringify(envelope), "m-1")));
    expect(event).toMatchObject({
      id: "00000000-0000-4000-8000-000000000001",
      name: "PutBucketEncryption",
      origin: "sqs:m-1",
      account: "123456789012",
    });
  });

  it("rejects a body that is not JSON, naming body", () => {
    expect(parseSqsRecord(sqsRecord("{not json", "m-2"))).toEqual({
      kind: "rejected",
      source: "sqs:m-2",
      reason: "body: not valid JSON (Expected property name or '}')",
    });
  });

  it("rejects an invalid envelope with the path inside the body", () => {
    const envelope = eventBridgeEnvelope({ ...fixedRecord(3), eventSource: 7 });
    expect(parseSqsRecord(sqsRecord(JSON.stringify(envelope), "m-3"))).toEqual({
      kind: "rejected",
      source: "sqs:m-3",
      reason: "body.detail.eventSource: expected a string, got number",
    });
  });

  it("rejects a record that is not an SQS record, naming the field", () => {
    expect(parseSqsRecord({ messageId: "m-4", body: { detail: {} } })).toEqual({
      kind: "rejected",
      source: "sqs:m-4",
      reason: "body: expected a string, got an object",
    });
    expect(parseSqsRecord({ body: "{}" })).toMatchObject({
      source: "sqs:unknown",
      reason: "messageId: expected a string, but it is missing",
    });
  });

  it("ignores a failed call and a non-CloudTrail event carried by a message", () => {
    const failed = eventBridgeEnvelope(fixedRecord(5, { errorCode: "AccessDenied" }));
    const scheduled = { version: "0", id: "s", "detail-type": "Scheduled Event", source: "aws.events", detail: {} };
    expect(parseSqsRecord(sqsRecord(JSON.stringify(failed))).kind).toBe("ignored");
    expect(parseSqsRecord(sqsRecord(JSON.stringify(scheduled))).kind).toBe("ignored");
  });

  it("rejects a body holding a whole log file, which no EventBridge target receives", () => {
    const body = JSON.stringify({ Records: [fixedRecord(6), fixedRecord(7)] });
    expect(parseSqsRecord(sqsRecord(body, "m-6"))).toMatchObject({
      kind: "rejected",
      reason: expect.stringMatching(/^body: holds a CloudTrail log file of 2 records/),
    });
  });

  it("reads a saved Lambda SQS event file through the stream reader, one result per message", async () => {
    const event = { Records: [sqsRecord(JSON.stringify(eventBridgeEnvelope(fixedRecord(8))), "a"), sqsRecord("oops", "b")] };
    const results = await collect(readChangeEventsFromStream([Buffer.from(JSON.stringify(event))], "lambda-event.json"));
    expect(kindsOf(results)).toEqual(["event", "rejected"]);
  });
});
