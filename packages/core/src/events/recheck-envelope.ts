import type { JsonObject } from "../support/json";
import type { Actor, ChangeEvent } from "./change-event";
import { RECHECK_FIELD } from "./normalise";
import { CLOUDTRAIL_DETAIL_TYPE } from "./schemas";

/** Drops the undefined fields, which JSON cannot carry. */
function defined(fields: Record<string, string | boolean | JsonObject | null | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out;
}

function userIdentityOf(actor: Actor): JsonObject {
  const sessionContext =
    actor.issuerArn !== undefined || actor.mfaAuthenticated !== undefined
      ? defined({
          sessionIssuer: actor.issuerArn !== undefined ? { arn: actor.issuerArn } : undefined,
          attributes: actor.mfaAuthenticated !== undefined ? { mfaAuthenticated: String(actor.mfaAuthenticated) } : undefined,
        })
      : undefined;
  return defined({
    type: actor.type,
    arn: actor.arn,
    principalId: actor.principalId,
    accountId: actor.accountId,
    userName: actor.userName,
    invokedBy: actor.invokedBy,
    sessionContext,
  });
}

/**
 * The EventBridge envelope the engine sends itself to look at `event` again: the CloudTrail record rebuilt from
 * the normalised event (it normalises back to the same event), plus the re-check pass at the top level, which
 * gives the re-check its own idempotency key.
 */
export function recheckEnvelope(event: ChangeEvent, pass: number): JsonObject {
  const detail = defined({
    eventID: event.id,
    eventTime: event.time,
    awsRegion: event.region,
    recipientAccountId: event.account,
    eventSource: event.source,
    eventName: event.name,
    eventType: event.eventType,
    userIdentity: userIdentityOf(event.actor),
    userAgent: event.actor.userAgent,
    sourceIPAddress: event.actor.sourceIp,
    requestParameters: event.request,
    responseElements: event.response,
    readOnly: event.readOnly,
    additionalEventData: event.additional,
  });
  return {
    version: "0",
    id: `${event.id}-recheck-${pass}`,
    "detail-type": CLOUDTRAIL_DETAIL_TYPE,
    source: `aws.${event.source.split(".")[0] ?? "unknown"}`,
    account: event.account,
    time: event.time,
    region: event.region,
    detail,
    [RECHECK_FIELD]: pass,
  };
}
