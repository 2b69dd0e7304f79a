import { createHmac, timingSafeEqual } from "node:crypto";

export type SlackSignatureFailure = "missing-header" | "malformed-header" | "stale-timestamp" | "bad-signature";

/** A request that did not prove it came from Slack. `reason` says which check failed; the message says how. */
export class SlackSignatureError extends Error {
  constructor(
    readonly reason: SlackSignatureFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SlackSignatureError";
  }
}

export const SLACK_SIGNATURE_HEADER = "x-slack-signature";
export const SLACK_TIMESTAMP_HEADER = "x-slack-request-timestamp";
/** Slack's recommended replay window. */
export const MAX_REQUEST_AGE_SECONDS = 5 * 60;

export type RequestHeaders = Readonly<Record<string, string | undefined>>;

export interface SignedRequest {
  /** The body exactly as received: the signature covers these bytes, so never re-serialise a parsed body. */
  rawBody: string;
  headers: RequestHeaders;
}

/**
 * Checks Slack's v0 request signature: `v0=` + hex HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`), with
 * the timestamp no more than five minutes from `now` either way. Throws SlackSignatureError; returns nothing.
 */
export function verifySlackSignature(request: SignedRequest, signingSecret: string, now: Date): void {
  const signature = header(request.headers, SLACK_SIGNATURE_HEADER);
  const timestampText = header(request.headers, SLACK_TIMESTAMP_HEADER);
  if (!signature || !timestampText) {
    const missing = [!timestampText && "X-Slack-Request-Timestamp", !signature && "X-Slack-Signature"].filter(Boolean);
    throw new SlackSignatureError("missing-header", `request is not signed: missing ${missing.join(" and ")} header`);
  }
  if (!/^\d{1,12}$/.test(timestampText)) {
    throw new SlackSignatureError("malformed-header", "X-Slack-Request-Timestamp is not a Unix time in seconds");
  }
  const ageSeconds = Math.abs(Math.floor(now.getTime() / 1000) - Number(timestampText));
  if (ageSeconds > MAX_REQUEST_AGE_SECONDS) {
    throw new SlackSignatureError(
      "stale-timestamp",
      `X-Slack-Request-Timestamp is ${ageSeconds}s away from now; at most ${MAX_REQUEST_AGE_SECONDS}s is accepted (replay protection)`,
    );
  }
  const expected = Buffer.from(computeSlackSignature(signingSecret, timestampText, request.rawBody), "utf8");
  const received = Buffer.from(signature, "utf8");
  // timingSafeEqual needs equal lengths; a length mismatch reveals nothing the attacker does not already know.
  if (expected.length !== received.length || !timingSafeEqual(expected, received)) {
    throw new SlackSignatureError("bad-signature", "X-Slack-Signature does not match the request body and timestamp");
  }
}

export function computeSlackSignature(signingSecret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac("sha256", signingSecret).update(`v0:${timestamp}:${rawBody}`, "utf8").digest("hex")}`;
}

/** HTTP header names are case-insensitive, and API Gateway lower-cases them while local servers may not. */
export function header(headers: RequestHeaders, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined && value !== "") return value;
  }
  return undefined;
}
