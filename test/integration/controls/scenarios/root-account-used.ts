import { GetAccountSummaryCommand } from "@aws-sdk/client-iam";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { consoleSignInRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, type Moto } from "../../../support/moto";

export function rootRef(account = MOTO_ACCOUNT): ResourceRef {
  return { type: "AWS::IAM::RootUser", id: account, arn: `arn:aws:iam::${account}:root`, account, region: "us-east-1" };
}

async function accountSummary(moto: Moto): Promise<Record<string, number>> {
  return (await (await moto.clients.iam()).send(new GetAccountSummaryCommand({}))).SummaryMap ?? {};
}

const NEVER_FIXED = "a root sign-in has happened: nothing can undo it, and the control only reports it";

/** The account's IAM summary when the violation was arranged: the engine must leave it exactly so. */
let arranged: Record<string, number> = {};

/** The root user signed in to the console without MFA ("AWS Console Sign In via CloudTrail"). */
export const scenario: ControlScenario = {
  control: "root-account-used",
  notifyOnly: "root use is reported, never changed: the engine does not act on the root user",
  notFoundBySweep: "root use exists only as events; no state of the account shows a past sign-in",
  alwaysApplies: NEVER_FIXED,
  engineNeverMatches: "the control listens only to Root, and the engine acts through its own role",

  async arrangeViolation(moto) {
    arranged = await accountSummary(moto);
    return { record: consoleSignInRecord({ mfaUsed: false, result: "Success" }), resource: rootRef() };
  },

  async assertFixed() {
    throw new Error(NEVER_FIXED);
  },

  async assertUnchanged(moto) {
    expect(await accountSummary(moto)).toEqual(arranged);
  },

  async makeCompliant() {
    throw new Error(NEVER_FIXED);
  },
};
