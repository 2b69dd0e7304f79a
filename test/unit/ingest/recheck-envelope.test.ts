import { RECHECK_FIELD, normaliseRecord, recheckEnvelope, type ChangeEvent } from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";
import { assumedRoleIdentity, cloudTrailRecord, eventBridgeEnvelope } from "../../support/cloudtrail";

function eventOf(value: unknown, origin = "test"): ChangeEvent {
  const result = normaliseRecord(value, origin);
  if (result.kind !== "event") throw new Error(`not an event: ${JSON.stringify(result)}`);
  return result.event;
}

describe("the re-check envelope the engine sends itself", () => {
  const original = eventOf(
    eventBridgeEnvelope(
      cloudTrailRecord({
        eventSource: "rds.amazonaws.com",
        eventName: "CreateDBInstance",
        userIdentity: assumedRoleIdentity("Deployer", "ci"),
        requestParameters: { dBInstanceIdentifier: "claims", tags: [{ key: "Team", value: "claims" }] },
        responseElements: { dBInstanceArn: "arn:aws:rds:us-east-1:123456789012:db:claims" },
      }),
    ),
  );

  it("normalises back to the same event, carrying its pass", () => {
    const envelope = recheckEnvelope(original, 2);
    expect(envelope[RECHECK_FIELD]).toBe(2);
    expect(eventOf(JSON.parse(JSON.stringify(envelope)))).toEqual({ ...original, recheck: 2 });
  });

  it("ignores a marker that is not a positive whole number", () => {
    const envelope = recheckEnvelope(original, 1);
    for (const bad of [0, -1, 1.5, "1", null]) expect(eventOf({ ...envelope, [RECHECK_FIELD]: bad }).recheck).toBeUndefined();
  });
});
