import { GetAccountSummaryCommand } from "@aws-sdk/client-iam";
import {
  ANY_EVENT,
  CATEGORIES,
  CLOUDTRAIL_DETAIL_TYPE,
  CONSOLE_SIGN_IN_DETAIL_TYPE,
  defineControl,
  eventRef,
  type ChangeEvent,
  type JsonObject,
  type Plan,
  type ResourceRef,
  type Verdict,
} from "@hipaa-remediate/core";
import { z } from "zod";
import { parseControlData } from "./lib/control-data";
import { NotifyOnlyPlanError } from "./lib/errors";
import { stringOf } from "./lib/json-fields";

const CONTROL_ID = "root-account-used";

/** The root user of `account`. Root has no ARN of its own beyond this one, which CloudTrail also uses. */
export function rootUserRef(account: string): ResourceRef {
  return { type: "AWS::IAM::RootUser", id: account, arn: `arn:aws:iam::${account}:root`, account, region: "us-east-1" };
}

type MfaUse = "yes" | "no" | "unknown";

/** Console sign-ins say `MFAUsed` "Yes"/"No"; API calls from a console session say `mfaAuthenticated`. */
export function mfaUseOf(event: ChangeEvent): MfaUse {
  const flag = stringOf(event.additional?.MFAUsed);
  if (flag === "Yes") return "yes";
  if (flag === "No") return "no";
  if (event.actor.mfaAuthenticated !== undefined) return event.actor.mfaAuthenticated ? "yes" : "no";
  return "unknown";
}

/** "Success" or "Failure" for a sign-in event (`responseElements.<eventName>`), undefined for API calls. */
function signInOutcome(event: ChangeEvent): string | undefined {
  if (event.eventType !== "AwsConsoleSignIn") return undefined;
  return stringOf(event.response?.[event.name]);
}

const MFA_WORDS: Readonly<Record<MfaUse, string>> = { yes: "with MFA", no: "without MFA", unknown: "(MFA use not recorded)" };

function summaryOf(event: ChangeEvent, mfa: MfaUse): string {
  const from = event.actor.sourceIp ? ` from ${event.actor.sourceIp}` : "";
  const outcome = signInOutcome(event);
  if (event.name === "ConsoleLogin") {
    return outcome === "Failure"
      ? `A console sign-in as the root user of account ${event.account} failed${from} (${MFA_WORDS[mfa]})`
      : `The root user of account ${event.account} signed in to the console ${MFA_WORDS[mfa]}${from}`;
  }
  const failed = outcome === "Failure" ? " (failed)" : "";
  return `The root user of account ${event.account} used ${event.name} on ${event.source}${failed} ${MFA_WORDS[mfa]}${from}`;
}

const evidenceSchema = z.object({
  eventName: z.string().min(1),
  eventSource: z.string().min(1),
  mfaUsed: z.enum(["yes", "no", "unknown"]),
});

export type RootUsePlanParams = { action: "notify"; eventName: string; mfaUsed: MfaUse };

/**
 * Any use of the root user, including console sign-ins (failed ones too: HIPAA's log-in monitoring,
 * 164.308(a)(5)(ii)(C), is about attempts). Notify-only: the engine never acts on the root user, and the use has
 * already happened; the finding says whether MFA was used. Failed root API calls (with an errorCode) are set aside at
 * ingestion like every failed call.
 */
export const control = defineControl<Record<string, never>, RootUsePlanParams>({
  id: CONTROL_ID,
  title: "The root user is not used",
  category: "mfa",
  hipaa: {
    sections: [...CATEGORIES.mfa.hipaa],
    why: "The root user cannot be limited by any policy, so its use bypasses unique user identification and access control (164.312(a)(1)) and must be seen and explained at once.",
  },
  severity: "critical",
  options: z.strictObject({}).prefault({}),
  triggers: [
    {
      source: ANY_EVENT,
      name: ANY_EVENT,
      actor: { types: ["Root"] },
      detailTypes: [CLOUDTRAIL_DETAIL_TYPE, CONSOLE_SIGN_IN_DETAIL_TYPE],
      resources: (event) => [rootUserRef(event.account)],
    },
  ],
  // Notify-only: nothing is ever changed, so apply and rollback need no more than the read detection makes.
  permissions: {
    detect: ["iam:GetAccountSummary"],
    apply: ["iam:GetAccountSummary"],
    rollback: ["iam:GetAccountSummary"],
  },

  async detect(input, ctx): Promise<Verdict[]> {
    // Root use exists only as events: without one there is nothing to report.
    const event = input.event;
    if (!event || event.actor.type !== "Root") return [];
    const mfaUsed = mfaUseOf(event);
    const evidence: JsonObject = {
      eventName: event.name,
      eventSource: event.source,
      mfaUsed,
      ...(signInOutcome(event) ? { outcome: signInOutcome(event) ?? null } : {}),
      ...(event.actor.sourceIp ? { sourceIp: event.actor.sourceIp } : {}),
    };
    if (ctx.aws) {
      // Whether root has MFA at all tells the approver how exposed the account is; it does not change the verdict.
      const summary = await (await ctx.aws.iam()).send(new GetAccountSummaryCommand({}));
      const map = summary.SummaryMap ?? {};
      evidence.rootMfaEnabled = map.AccountMFAEnabled === 1;
      evidence.rootAccessKeysPresent = (map.AccountAccessKeysPresent ?? 0) > 0;
    }
    return [
      {
        kind: "violation",
        finding: {
          control: CONTROL_ID,
          resource: input.resource,
          summary: summaryOf(event, mfaUsed),
          evidence,
          confirmed: ctx.aws !== undefined,
          tags: {},
          event: eventRef(event),
        },
      },
    ];
  },

  plan(finding): Plan<RootUsePlanParams> {
    const evidence = parseControlData(evidenceSchema, finding.evidence, `finding for ${finding.resource.arn}`);
    return {
      control: CONTROL_ID,
      resource: finding.resource,
      summary: `Report root use (${evidence.eventName}, MFA: ${evidence.mfaUsed}): confirm with the account owner that it was expected.`,
      steps: [
        "No change: the engine never acts on the root user.",
        "If the use was not expected: change the root password, check that root has MFA, delete any root access keys, and review what the session did.",
      ],
      reversible: true,
      notifyOnly: true,
      params: { action: "notify", eventName: evidence.eventName, mfaUsed: evidence.mfaUsed },
    };
  },

  async apply() {
    throw new NotifyOnlyPlanError("root-account-used only reports: it never changes anything");
  },

  async verify() {
    return { ok: true, state: {}, detail: "notify-only: nothing to verify" };
  },

  async rollback() {
    throw new NotifyOnlyPlanError("root-account-used only reports: there is nothing to roll back");
  },

  // Root use exists only as events; the account's state cannot show it, so a sweep has nothing to list.
  async *sweep() {},
});
