import { randomUUID } from "node:crypto";
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { ControlIndex, eventPatternsFor, normaliseRecord, type ChangeEvent } from "@hipaa-remediate/core";
import { controlById, controls } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control, mfaUseOf } from "../../../remediations/root-account-used";
import {
  assumedRoleIdentity,
  cloudTrailRecord,
  consoleSignInRecord,
  detailTypeOf,
  iamUserIdentity,
  rootIdentity,
} from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusRecordsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, useMoto } from "../../support/moto";
import { rootRef } from "./scenarios/root-account-used";

const moto = useMoto();
const [trigger] = control.triggers;
if (!trigger) throw new Error("root-account-used declares no trigger");

function rootApiCall(mfaAuthenticated?: "true" | "false"): ChangeEvent {
  const identity = rootIdentity();
  const userIdentity = mfaAuthenticated
    ? { ...identity, sessionContext: { attributes: { creationDate: "2025-03-01T11:00:00Z", mfaAuthenticated } } }
    : identity;
  return changeEventOf(
    cloudTrailRecord({ eventSource: "iam.amazonaws.com", eventName: "CreateUser", requestParameters: { userName: "x" }, userIdentity }),
  );
}

describe("root-account-used: identity and trigger", () => {
  it("is registered as a critical, notify-only MFA control listening to any event by Root", () => {
    expect(controlById("root-account-used")).toBe(control);
    expect(control).toMatchObject({ category: "mfa", severity: "critical" });
    expect(control.triggers).toHaveLength(1);
    expect(trigger).toMatchObject({
      source: "*",
      name: "*",
      actor: { types: ["Root"] },
      detailTypes: ["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"],
    });
    expect(control.options.safeParse({ severity: "low" }).success).toBe(false);
  });

  it("names the account's root user whatever the event", () => {
    expect(trigger.resources(rootApiCall())).toEqual([rootRef()]);
    expect(trigger.resources(changeEventOf(consoleSignInRecord({ mfaUsed: true, result: "Success", account: "210987654321" })))).toEqual([
      rootRef("210987654321"),
    ]);
  });

  it("is matched by identity: root API calls and sign-ins, next to source/name controls, and nothing else", () => {
    const index = new ControlIndex(controls);
    const ids = (event: ChangeEvent) => index.match(event).map((m) => m.control.id);
    expect(ids(rootApiCall())).toEqual(["root-account-used"]);
    expect(ids(changeEventOf(consoleSignInRecord({ mfaUsed: false, result: "Success" })))).toEqual(["root-account-used"]);
    // Root weakening the password policy meets both the password control and this one.
    const rootPolicyChange = changeEventOf(
      cloudTrailRecord({ eventSource: "iam.amazonaws.com", eventName: "DeleteAccountPasswordPolicy", userIdentity: rootIdentity() }),
    );
    expect(ids(rootPolicyChange).sort()).toEqual(["iam-password-policy", "root-account-used"]);
    expect(ids(changeEventOf(consoleSignInRecord({ mfaUsed: false, result: "Success", userIdentity: iamUserIdentity("bob") })))).toEqual(
      [],
    );
    expect(
      ids(
        changeEventOf(
          cloudTrailRecord({ eventSource: "iam.amazonaws.com", eventName: "CreateUser", userIdentity: assumedRoleIdentity("r", "s") }),
        ),
      ),
    ).toEqual([]);
    // A root event of a kind the trigger does not subscribe to (a service event) is not matched either.
    expect(ids({ ...rootApiCall(), eventType: "AwsServiceEvent" })).toEqual([]);
  });
});

describe("root-account-used: detection", () => {
  it("offline, a root sign-in without MFA is an unconfirmed critical finding that says so", async () => {
    const event = changeEventOf(consoleSignInRecord({ mfaUsed: false, result: "Success" }));
    const finding = onlyViolation(await control.detect({ resource: rootRef(), event }, offlineContext(moto, control)));
    expect(finding).toMatchObject({
      confirmed: false,
      summary: `The root user of account ${MOTO_ACCOUNT} signed in to the console without MFA from 203.0.113.10`,
      evidence: {
        eventName: "ConsoleLogin",
        eventSource: "signin.amazonaws.com",
        mfaUsed: "no",
        outcome: "Success",
        sourceIp: "203.0.113.10",
      },
      event: { id: event.id, name: "ConsoleLogin" },
    });
  });

  it("reports a failed root sign-in attempt too, and says whether MFA was used", async () => {
    const event = changeEventOf(consoleSignInRecord({ mfaUsed: true, result: "Failure" }));
    const finding = onlyViolation(await control.detect({ resource: rootRef(), event }, offlineContext(moto, control)));
    expect(finding.summary).toBe(`A console sign-in as the root user of account ${MOTO_ACCOUNT} failed from 203.0.113.10 (with MFA)`);
    expect(finding.evidence).toMatchObject({ outcome: "Failure", mfaUsed: "yes" });
  });

  it("reads MFA use of root API calls from the session context", async () => {
    expect(mfaUseOf(rootApiCall("true"))).toBe("yes");
    expect(mfaUseOf(rootApiCall("false"))).toBe("no");
    expect(mfaUseOf(rootApiCall())).toBe("unknown");
    const finding = onlyViolation(
      await control.detect({ resource: rootRef(), event: rootApiCall("false") }, offlineContext(moto, control)),
    );
    expect(finding.summary).toBe(
      `The root user of account ${MOTO_ACCOUNT} used CreateUser on iam.amazonaws.com without MFA from 203.0.113.10`,
    );
  });

  it("live, adds whether root has MFA and access keys, and confirms the finding", async () => {
    const event = changeEventOf(consoleSignInRecord({ mfaUsed: false, result: "Success" }));
    const finding = onlyViolation(await control.detect({ resource: rootRef(), event }, liveContext(moto, control)));
    expect(finding).toMatchObject({ confirmed: true, evidence: { rootMfaEnabled: false, rootAccessKeysPresent: false } });
  });

  it("reports nothing without an event or for another caller", async () => {
    expect(await control.detect({ resource: rootRef() }, liveContext(moto, control))).toEqual([]);
    const notRoot = changeEventOf(consoleSignInRecord({ mfaUsed: false, result: "Success", userIdentity: iamUserIdentity() }));
    expect(await control.detect({ resource: rootRef(), event: notRoot }, offlineContext(moto, control))).toEqual([]);
  });
});

describe("root-account-used: plan and steps", () => {
  it("plans a notification only, which apply and rollback refuse", async () => {
    const ctx = liveContext(moto, control);
    const event = changeEventOf(consoleSignInRecord({ mfaUsed: false, result: "Success" }));
    const plan = control.plan(onlyViolation(await control.detect({ resource: rootRef(), event }, ctx)), ctx.options);
    expect(plan).toMatchObject({
      notifyOnly: true,
      summary: "Report root use (ConsoleLogin, MFA: no): confirm with the account owner that it was expected.",
      params: { action: "notify", eventName: "ConsoleLogin", mfaUsed: "no" },
    });
    expect(plan.steps[0]).toBe("No change: the engine never acts on the root user.");
    await expect(control.apply(plan, ctx)).rejects.toThrow(/never changes anything/);
    await expect(control.rollback(plan, {}, ctx)).rejects.toThrow(/nothing to roll back/);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
  });

  it("has nothing to sweep: root use exists only as events", async () => {
    const refs = [];
    for await (const ref of control.sweep(liveContext(moto, control))) refs.push(ref);
    expect(refs).toEqual([]);
  });
});

describe("root-account-used: the generated EventBridge rule on moto", () => {
  it("delivers root API calls and root sign-ins, and no event of another caller", async () => {
    const events = new EventBridgeClient(moto.config);
    const sqs = new SQSClient(moto.config);
    const suffix = randomUUID().slice(0, 8);
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `root-${suffix}` }))).QueueUrl ?? "";
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))).Attributes
      ?.QueueArn;
    const rootPattern = eventPatternsFor([control]).find((p) => p.kind === "identity");
    if (!rootPattern || !queueArn) throw new Error("no identity pattern or queue");
    const rule = `root-${suffix}`;
    await events.send(new PutRuleCommand({ Name: rule, EventPattern: JSON.stringify(rootPattern.pattern) }));
    await events.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: "q", Arn: queueArn }] }));
    try {
      const records = [
        cloudTrailRecord({ eventSource: "iam.amazonaws.com", eventName: "CreateUser", userIdentity: rootIdentity() }),
        consoleSignInRecord({ mfaUsed: false, result: "Failure" }),
        cloudTrailRecord({ eventSource: "iam.amazonaws.com", eventName: "CreateUser" }),
        consoleSignInRecord({ mfaUsed: true, result: "Success", userIdentity: iamUserIdentity() }),
      ];
      await events.send(
        new PutEventsCommand({
          Entries: records.map((record) => ({
            Source: `aws.${String(record.eventSource).split(".")[0]}`,
            DetailType: detailTypeOf(record),
            Detail: JSON.stringify(record),
          })),
        }),
      );
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      const ids = (received.Messages ?? []).map((m) => (JSON.parse(m.Body ?? "{}") as { detail: { eventID: string } }).detail.eventID);
      expect(ids.sort()).toEqual([records[0]?.eventID, records[1]?.eventID].sort());
    } finally {
      await events.send(new RemoveTargetsCommand({ Rule: rule, Ids: ["q"] }));
      await events.send(new DeleteRuleCommand({ Name: rule }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    }
  });
});

describe.runIf(corpusAvailable())("root-account-used: real corpus records", () => {
  it("flags every successful root record offline, sign-ins with their outcome and MFA use", async () => {
    // Any event by Root reaches records of every shape: those ingestion rejects (a redacted eventTime) never reach a control.
    const events = corpusRecordsFor(trigger).flatMap(({ origin, record }) => {
      const result = normaliseRecord(record.eventTime === undefined ? { ...record, eventTime: "2024-01-01T00:00:00Z" } : record, origin);
      return result.kind === "event" ? [result.event] : [];
    });
    expect(events.length).toBeGreaterThan(10);
    const signIns = events.filter((event) => event.name === "ConsoleLogin");
    expect(signIns.length).toBeGreaterThan(2);
    for (const event of events) {
      const [resource] = trigger.resources(event);
      if (!resource) throw new Error(`no resource for ${event.origin}`);
      const finding = onlyViolation(await control.detect({ resource, event }, offlineContext(moto, control)));
      expect(finding.resource.arn).toBe(`arn:aws:iam::${event.account}:root`);
      expect(finding.evidence.eventName).toBe(event.name);
      if (event.name !== "ConsoleLogin") continue;
      const outcome = event.response?.ConsoleLogin;
      expect(finding.summary).toMatch(
        outcome === "Failure" ? /^A console sign-in as the root user .* failed/ : /^The root user .* signed in/,
      );
      expect(finding.evidence.mfaUsed).toBe(
        event.additional?.MFAUsed === "Yes" ? "yes" : event.additional?.MFAUsed === "No" ? "no" : "unknown",
      );
    }
  });
});
