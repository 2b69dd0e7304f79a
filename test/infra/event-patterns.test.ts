import {
  ANY_EVENT,
  CLOUDTRAIL_DETAIL_TYPE,
  CONSOLE_SIGN_IN_DETAIL_TYPE,
  DEFAULT_MAX_PATTERN_BYTES,
  EventPatternError,
  eventBridgeSourceOf,
  eventPatternsFor,
  forwardedFromGlobalRegion,
  isGlobalEventSource,
  patternSize,
  type TriggerKey,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";

function control(id: string, triggers: TriggerKey[]) {
  return { id, triggers };
}

/** Every (eventSource, eventName) pair a set of source/name patterns lets through. */
function pairsOf(patterns: ReturnType<typeof eventPatternsFor>): string[] {
  return patterns.flatMap((generated) =>
    generated.kind === "service"
      ? generated.pattern.detail.eventSource.flatMap((source) => generated.pattern.detail.eventName.map((name) => `${source} ${name}`))
      : [],
  );
}

const ROOT_ANYTHING: TriggerKey = {
  source: ANY_EVENT,
  name: ANY_EVENT,
  actor: { types: ["Root"] },
  detailTypes: [CLOUDTRAIL_DETAIL_TYPE, CONSOLE_SIGN_IN_DETAIL_TYPE],
};

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
        kind: "service",
        key: "ec2",
        eventSource: "ec2.amazonaws.com",
        pattern: {
          source: ["aws.ec2"],
          "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
          detail: { eventSource: ["ec2.amazonaws.com"], eventName: ["RunInstances"] },
        },
      },
      {
        kind: "service",
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
    const registry = [
      control(
        "many",
        names.map((name) => ({ source: "s3.amazonaws.com", name })),
      ),
    ];

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
    expect(() =>
      eventPatternsFor([control("a", [{ source: "s3.amazonaws.com", name: "PutBucketPolicy" }])], { maxPatternBytes: 50 }),
    ).toThrow(/s3\.amazonaws\.com event PutBucketPolicy alone exceeds 50 bytes/);
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

  it("covers exactly the registry's source/name triggers", () => {
    const expected = new Set(controls.flatMap((c) => c.triggers.filter((t) => !t.actor).map((t) => `${t.source} ${t.name}`)));
    expect(pairsOf(eventPatternsFor(controls)).sort()).toEqual([...expected].sort());
  });

  it("gives an identity trigger its own pattern on userIdentity.type, with no source and no event names", () => {
    const patterns = eventPatternsFor([
      control("a", [{ source: "s3.amazonaws.com", name: "PutBucketPolicy" }]),
      control("root", [ROOT_ANYTHING]),
    ]);
    expect(patterns.map((p) => p.kind)).toEqual(["service", "identity"]);
    expect(patterns[1]).toEqual({
      kind: "identity",
      key: "actor-root",
      actorTypes: ["Root"],
      pattern: {
        "detail-type": ["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"],
        detail: { userIdentity: { type: ["Root"] } },
      },
    });
    // Only identity patterns and global services' patterns are forwarded from us-east-1.
    expect(patterns.map((p) => forwardedFromGlobalRegion(p))).toEqual([false, true]);
  });

  it("narrows an identity trigger that names a source and an event, and defaults to API calls", () => {
    const [generated] = eventPatternsFor([
      control("a", [{ source: "iam.amazonaws.com", name: "CreateUser", actor: { types: ["Root", "IAMUser"] } }]),
    ]);
    expect(generated).toEqual({
      kind: "identity",
      key: "actor-iamuser-root-iam",
      actorTypes: ["IAMUser", "Root"],
      pattern: {
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        detail: { userIdentity: { type: ["IAMUser", "Root"] }, eventSource: ["iam.amazonaws.com"], eventName: ["CreateUser"] },
      },
    });
  });

  it("the registry has exactly one identity pattern: any root activity, API calls and console sign-ins", () => {
    const identity = eventPatternsFor(controls).filter((p) => p.kind === "identity");
    expect(identity.map((p) => p.pattern)).toEqual([
      { "detail-type": [CLOUDTRAIL_DETAIL_TYPE, CONSOLE_SIGN_IN_DETAIL_TYPE], detail: { userIdentity: { type: ["Root"] } } },
    ]);
  });

  it("rejects wildcards without an actor, detail-types without an actor, and bad actor types, naming the field", () => {
    expect(() => eventPatternsFor([control("c", [{ source: ANY_EVENT, name: "PutBucketPolicy" }])])).toThrow(
      'controls[c].triggers[0].source: "*" is not an AWS eventSource ("*" needs an actor condition)',
    );
    expect(() => eventPatternsFor([control("c", [{ source: "s3.amazonaws.com", name: ANY_EVENT }])])).toThrow(/triggers\[0\]\.name: "\*"/);
    expect(() =>
      eventPatternsFor([
        control("c", [{ source: "s3.amazonaws.com", name: "PutBucketPolicy", detailTypes: [CONSOLE_SIGN_IN_DETAIL_TYPE] }]),
      ]),
    ).toThrow("controls[c].triggers[0].detailTypes: only identity triggers (with an actor) choose detail-types");
    expect(() => eventPatternsFor([control("c", [{ ...ROOT_ANYTHING, actor: { types: [] } }])])).toThrow(
      "controls[c].triggers[0].actor.types: names no identity type",
    );
    expect(() => eventPatternsFor([control("c", [{ ...ROOT_ANYTHING, actor: { types: ["Root user"] } }])])).toThrow(
      /actor\.types\[0\]: "Root user"/,
    );
  });
});
