import {
  CLOUDTRAIL_DETAIL_TYPE,
  DEFAULT_MAX_PATTERN_BYTES,
  EventPatternError,
  eventBridgeSourceOf,
  eventPatternsFor,
  isGlobalEventSource,
  patternSize,
  type TriggerKey,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";

function control(id: string, triggers: TriggerKey[]) {
  return { id, triggers };
}

/** Every (eventSource, eventName) pair a set of patterns lets through. */
function pairsOf(patterns: ReturnType<typeof eventPatternsFor>): string[] {
  return patterns.flatMap(({ pattern }) =>
    pattern.detail.eventSource.flatMap((source) => pattern.detail.eventName.map((name) => `${source} ${name}`)),
  );
}

describe("eventPatternsFor", () => {
  it("builds one CloudTrail pattern per eventSource with that source's event names", () => {
    const patterns = eventPatternsFor([
      control("a", [
        { source: "s3.amazonaws.com", name: "PutBucketPolicy" },
        { source: "ec2.amazonaws.com", name: "RunInstances" },
      ]),
      control("b", [{ source: "s3.amazonaws.com", name: "DeleteBucketEncryption" }]),
    ]);

    expect(patterns).toEqual([
      {
        key: "ec2",
        eventSource: "ec2.amazonaws.com",
        pattern: {
          source: ["aws.ec2"],
          "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
          detail: { eventSource: ["ec2.amazonaws.com"], eventName: ["RunInstances"] },
        },
      },
      {
        key: "s3",
        eventSource: "s3.amazonaws.com",
        pattern: {
          source: ["aws.s3"],
          "detail-type": ["AWS API Call via CloudTrail"],
          detail: { eventSource: ["s3.amazonaws.com"], eventName: ["DeleteBucketEncryption", "PutBucketPolicy"] },
        },
      },
    ]);
  });

  it("lists a trigger shared by two controls once", () => {
    const shared = { source: "iam.amazonaws.com", name: "CreateAccessKey" };
    const patterns = eventPatternsFor([control("a", [shared]), control("b", [shared])]);
    expect(pairsOf(patterns)).toEqual(["iam.amazonaws.com CreateAccessKey"]);
  });

  it("splits a source's names across patterns that each fit the size limit, losing none", () => {
    const names = Array.from({ length: 120 }, (_, index) => `PutSomethingQuiteLongNamed${String(index).padStart(3, "0")}`);
    const registry = [control("many", names.map((name) => ({ source: "s3.amazonaws.com", name })))];

    const patterns = eventPatternsFor(registry, { maxPatternBytes: 1024 });

    expect(patterns.length).toBeGreaterThan(1);
    for (const { pattern } of patterns) expect(patternSize(pattern)).toBeLessThanOrEqual(1024);
    expect(patterns.map((p) => p.key)).toEqual(patterns.map((_, index) => `s3-part${index + 1}`));
    expect(pairsOf(patterns).sort()).toEqual(names.map((name) => `s3.amazonaws.com ${name}`).sort());
  });

  it("keeps the default limit at EventBridge's documented 2,048", () => {
    expect(DEFAULT_MAX_PATTERN_BYTES).toBe(2048);
  });

  it("rejects a limit too small for even one event name, naming the event", () => {
    expect(() => eventPatternsFor([control("a", [{ source: "s3.amazonaws.com", name: "PutBucketPolicy" }])], { maxPatternBytes: 50 })).toThrow(
      /s3\.amazonaws\.com event PutBucketPolicy alone exceeds 50 bytes/,
    );
  });

  it("rejects a malformed trigger, naming the control and the field", () => {
    expect(() => eventPatternsFor([control("bad-control", [{ source: "s3", name: "PutBucketPolicy" }])])).toThrow(
      new EventPatternError('controls[bad-control].triggers[0].source: "s3" is not an AWS eventSource (expected <service>.amazonaws.com)'),
    );
    expect(() => eventPatternsFor([control("bad-control", [{ source: "s3.amazonaws.com", name: "Put*" }])])).toThrow(
      /controls\[bad-control\]\.triggers\[0\]\.name: "Put\*"/,
    );
  });

  it("maps eventSources to EventBridge sources, including the documented exception", () => {
    expect(eventBridgeSourceOf("elasticloadbalancing.amazonaws.com")).toBe("aws.elasticloadbalancing");
    expect(eventBridgeSourceOf("monitoring.amazonaws.com")).toBe("aws.cloudwatch");
  });

  it("marks IAM as a global source and S3 as regional", () => {
    expect(isGlobalEventSource("iam.amazonaws.com")).toBe(true);
    expect(isGlobalEventSource("s3.amazonaws.com")).toBe(false);
  });

  it("covers exactly the registry's triggers", () => {
    const expected = new Set(controls.flatMap((c) => c.triggers.map((t) => `${t.source} ${t.name}`)));
    expect(pairsOf(eventPatternsFor(controls)).sort()).toEqual([...expected].sort());
  });
});
