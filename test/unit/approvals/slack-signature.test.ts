import { describe, expect, it } from "vitest";
import { SlackSignatureError, computeSlackSignature, verifySlackSignature } from "@hipaa-remediate/core";
import { signSlackBody, TEST_SIGNING_SECRET } from "../../support/slack-signing";

/**
 * Slack's published example from "Verifying requests from Slack"
 * (https://api.slack.com/authentication/verifying-requests-from-slack, also at
 * https://docs.slack.dev/authentication/verifying-requests-from-slack): a slash-command body signed at
 * 1531420618 with the example signing secret.
 */
const SLACK_EXAMPLE = {
  signingSecret: "8f742231b10e8888abcd99yyyzzz85a5",
  timestamp: "1531420618",
  body:
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V" +
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=" +
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" +
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
  signature: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
};
// The example is from 2018: verify it at a clock inside its five-minute window.
const EXAMPLE_NOW = new Date((Number(SLACK_EXAMPLE.timestamp) + 30) * 1000);

function failure(run: () => void): SlackSignatureError {
  try {
    run();
  } catch (error) {
    if (error instanceof SlackSignatureError) return error;
    throw error;
  }
  throw new Error("expected a SlackSignatureError");
}

describe("Slack request signature", () => {
  it("accepts Slack's published example vector", () => {
    expect(computeSlackSignature(SLACK_EXAMPLE.signingSecret, SLACK_EXAMPLE.timestamp, SLACK_EXAMPLE.body)).toBe(SLACK_EXAMPLE.signature);
    const request = {
      rawBody: SLACK_EXAMPLE.body,
      headers: { "X-Slack-Request-Timestamp": SLACK_EXAMPLE.timestamp, "X-Slack-Signature": SLACK_EXAMPLE.signature },
    };
    expect(() => verifySlackSignature(request, SLACK_EXAMPLE.signingSecret, EXAMPLE_NOW)).not.toThrow();
  });

  it("finds the headers whatever their case (API Gateway lower-cases them)", () => {
    const request = {
      rawBody: SLACK_EXAMPLE.body,
      headers: { "x-slack-request-timestamp": SLACK_EXAMPLE.timestamp, "x-slack-signature": SLACK_EXAMPLE.signature },
    };
    expect(() => verifySlackSignature(request, SLACK_EXAMPLE.signingSecret, EXAMPLE_NOW)).not.toThrow();
  });

  it("rejects the example body once one byte changes", () => {
    const request = {
      rawBody: SLACK_EXAMPLE.body.replace("roadrunner", "roadrunnex"),
      headers: { "X-Slack-Request-Timestamp": SLACK_EXAMPLE.timestamp, "X-Slack-Signature": SLACK_EXAMPLE.signature },
    };
    const error = failure(() => verifySlackSignature(request, SLACK_EXAMPLE.signingSecret, EXAMPLE_NOW));
    expect(error.reason).toBe("bad-signature");
    expect(error.message).toMatch(/X-Slack-Signature does not match/);
  });

  it("rejects a request signed with another secret, and a truncated signature", () => {
    const now = new Date("2025-03-01T12:00:00Z");
    const forged = signSlackBody("payload=%7B%7D", { timestamp: now, secret: "not-the-secret" });
    expect(failure(() => verifySlackSignature(forged, TEST_SIGNING_SECRET, now)).reason).toBe("bad-signature");
    const genuine = signSlackBody("payload=%7B%7D", { timestamp: now });
    const truncated = { ...genuine, headers: { ...genuine.headers, "X-Slack-Signature": "v0=abc" } };
    expect(failure(() => verifySlackSignature(truncated, TEST_SIGNING_SECRET, now)).reason).toBe("bad-signature");
  });

  it("rejects timestamps more than five minutes away, either way (replay protection)", () => {
    const now = new Date("2025-03-01T12:00:00Z");
    const old = signSlackBody("payload=%7B%7D", { timestamp: new Date(now.getTime() - 5 * 60_000 - 1_000) });
    const stale = failure(() => verifySlackSignature(old, TEST_SIGNING_SECRET, now));
    expect(stale.reason).toBe("stale-timestamp");
    expect(stale.message).toMatch(/301s away from now/);
    const future = signSlackBody("payload=%7B%7D", { timestamp: new Date(now.getTime() + 6 * 60_000) });
    expect(failure(() => verifySlackSignature(future, TEST_SIGNING_SECRET, now)).reason).toBe("stale-timestamp");
    const edge = signSlackBody("payload=%7B%7D", { timestamp: new Date(now.getTime() - 5 * 60_000) });
    expect(() => verifySlackSignature(edge, TEST_SIGNING_SECRET, now)).not.toThrow();
  });

  it("names the missing header", () => {
    const now = new Date("2025-03-01T12:00:00Z");
    const signed = signSlackBody("payload=%7B%7D", { timestamp: now });
    const noSignature = { rawBody: signed.rawBody, headers: { "X-Slack-Request-Timestamp": signed.headers["X-Slack-Request-Timestamp"] } };
    const error = failure(() => verifySlackSignature(noSignature, TEST_SIGNING_SECRET, now));
    expect(error).toMatchObject({ reason: "missing-header", message: "request is not signed: missing X-Slack-Signature header" });
    const none = failure(() => verifySlackSignature({ rawBody: signed.rawBody, headers: {} }, TEST_SIGNING_SECRET, now));
    expect(none.message).toBe("request is not signed: missing X-Slack-Request-Timestamp and X-Slack-Signature header");
  });

  it("rejects a timestamp that is not a number of seconds", () => {
    const now = new Date("2025-03-01T12:00:00Z");
    const signed = signSlackBody("payload=%7B%7D", { timestamp: now });
    const request = { ...signed, headers: { ...signed.headers, "X-Slack-Request-Timestamp": "2025-03-01T12:00:00Z" } };
    expect(failure(() => verifySlackSignature(request, TEST_SIGNING_SECRET, now)).reason).toBe("malformed-header");
  });
});
