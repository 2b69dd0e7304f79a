import {
  AddPermissionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionCommand,
  GetFunctionUrlConfigCommand,
  UpdateFunctionUrlConfigCommand,
} from "@aws-sdk/client-lambda";
import type { Finding } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control, exposureFromEvent, publicStatementsOf } from "../../../remediations/lambda-function-public";
import { lambdaFunctionName } from "../../../remediations/lib/lambda";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusEventsFor } from "../../support/corpus";
import { createTestFunction, lambdaClient } from "../../support/lambda";
import { MOTO_ACCOUNT, useMoto } from "../../support/moto";
import { addPermissionRecord, functionRef, policyStatements, PUBLIC_SID } from "./scenarios/lambda-function-public";

const moto = useMoto();

function triggerNamed(name: string) {
  const trigger = control.triggers.find((t) => t.name === name);
  if (!trigger) throw new Error(`lambda-function-public has no ${name} trigger`);
  return trigger;
}

function urlEvent(name: "CreateFunctionUrlConfig20211031" | "UpdateFunctionUrlConfig20211031", request: Record<string, unknown> | null) {
  return changeEventOf(cloudTrailRecord({ eventSource: "lambda.amazonaws.com", eventName: name, requestParameters: request }));
}

const lambda = lambdaClient(moto);

async function makePublic(name: string, sid = PUBLIC_SID): Promise<void> {
  await lambda.send(new AddPermissionCommand({ FunctionName: name, StatementId: sid, Action: "lambda:InvokeFunction", Principal: "*" }));
}

async function urlAuthType(name: string): Promise<string | undefined> {
  return (await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: name }))).AuthType;
}

describe("lambda-function-public: identity and triggers", () => {
  it("is registered, proposes by default, and listens to both AddPermission versions and function URL changes", () => {
    expect(controlById("lambda-function-public")).toBe(control);
    expect(control).toMatchObject({ category: "public-exposure", defaultMode: "approve" });
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "lambda.amazonaws.com AddPermission20150331v2",
      "lambda.amazonaws.com AddPermission20150331",
      "lambda.amazonaws.com CreateFunctionUrlConfig20211031",
      "lambda.amazonaws.com UpdateFunctionUrlConfig20211031",
    ]);
    expect(control.permissions.apply).toContain("lambda:RemovePermission");
    expect(control.permissions.rollback).toContain("lambda:AddPermission");
    expect(control.options.safeParse({ allowPublic: true }).success).toBe(false);
  });

  it("names the function from a name, a partial or full ARN, qualified or not; none for null parameters", () => {
    const trigger = triggerNamed("AddPermission20150331v2");
    for (const functionName of [
      "billing",
      `${MOTO_ACCOUNT}:function:billing`,
      `arn:aws:lambda:us-east-1:${MOTO_ACCOUNT}:function:billing:prod`,
    ]) {
      expect(trigger.resources(changeEventOf(addPermissionRecord(functionName)))).toEqual([functionRef("billing")]);
    }
    expect(lambdaFunctionName("not a name!")).toBeUndefined();
    expect(trigger.resources(urlEvent("CreateFunctionUrlConfig20211031", null))).toEqual([]);
  });

  it("reads what a request made public: wildcard principals without a source condition, and URL auth NONE", () => {
    expect(exposureFromEvent(changeEventOf(addPermissionRecord("f")))).toEqual({
      publicStatements: [{ sid: PUBLIC_SID, action: "lambda:InvokeFunction" }],
      urlAuthType: null,
    });
    expect(exposureFromEvent(changeEventOf(addPermissionRecord("f", "s3", "s3.amazonaws.com")))?.publicStatements).toEqual([]);
    const narrowed = changeEventOf(
      cloudTrailRecord({
        eventSource: "lambda.amazonaws.com",
        eventName: "AddPermission20150331v2",
        requestParameters: {
          functionName: "f",
          principal: "*",
          statementId: "x",
          action: "lambda:InvokeFunction",
          principalOrgID: "o-abc",
        },
      }),
    );
    expect(exposureFromEvent(narrowed)?.publicStatements).toEqual([]);
    expect(exposureFromEvent(urlEvent("UpdateFunctionUrlConfig20211031", { functionName: "f", authType: "NONE" }))).toEqual({
      publicStatements: [],
      urlAuthType: "NONE",
    });
    expect(exposureFromEvent(urlEvent("UpdateFunctionUrlConfig20211031", { functionName: "f" }))).toBeUndefined();
  });

  it("finds public statements in a policy document, ignoring narrowed, denied and URL-auth ones", () => {
    const policy = {
      Statement: [
        { Sid: "anyone", Effect: "Allow", Principal: "*", Action: "lambda:InvokeFunction" },
        { Sid: "anyone-aws", Effect: "Allow", Principal: { AWS: ["*"] }, Action: ["lambda:GetFunction", "lambda:InvokeFunction"] },
        {
          Sid: "bucket",
          Effect: "Allow",
          Principal: "*",
          Action: "lambda:InvokeFunction",
          Condition: { ArnLike: { "AWS:SourceArn": "arn:aws:s3:::b" } },
        },
        {
          Sid: "url",
          Effect: "Allow",
          Principal: "*",
          Action: "lambda:InvokeFunctionUrl",
          Condition: { StringEquals: { "lambda:FunctionUrlAuthType": "NONE" } },
        },
        { Sid: "deny", Effect: "Deny", Principal: "*", Action: "lambda:InvokeFunction" },
        { Sid: "account", Effect: "Allow", Principal: { AWS: "arn:aws:iam::210987654321:root" }, Action: "lambda:InvokeFunction" },
      ],
    };
    expect(publicStatementsOf(policy)).toEqual([
      { sid: "anyone", action: "lambda:InvokeFunction" },
      { sid: "anyone-aws", action: "lambda:GetFunction" },
    ]);
  });
});

describe("lambda-function-public: detection", () => {
  it("offline, a public AddPermission is an unconfirmed finding; a narrowed one is none", async () => {
    const event = changeEventOf(addPermissionRecord("orders"));
    const finding = onlyViolation(await control.detect({ resource: functionRef("orders"), event }, offlineContext(moto, control)));
    expect(finding).toMatchObject({
      confirmed: false,
      summary: `Lambda function orders is invocable by anyone through statement ${PUBLIC_SID} (lambda:InvokeFunction)`,
    });
    const scoped = changeEventOf(addPermissionRecord("orders", "s3-events", "s3.amazonaws.com"));
    expect(await control.detect({ resource: functionRef("orders"), event: scoped }, offlineContext(moto, control))).toEqual([]);
  });

  it("live, confirms a public statement and a public URL, with the function's tags", async () => {
    const name = await createTestFunction(moto, "live", { DataClassification: "PHI" });
    await makePublic(name);
    await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: name, AuthType: "NONE" }));
    const finding = onlyViolation(await control.detect({ resource: functionRef(name) }, liveContext(moto, control)));
    expect(finding).toMatchObject({
      confirmed: true,
      tags: { DataClassification: "PHI" },
      evidence: {
        current: { publicStatements: [{ sid: PUBLIC_SID }], urlAuthType: "NONE" },
        required: { publicStatements: [], urlAuthType: "AWS_IAM" },
      },
    });
  });

  it("live, a function no longer public, or gone, no longer applies", async () => {
    const name = await createTestFunction(moto, "private");
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: name,
        StatementId: "s3",
        Action: "lambda:InvokeFunction",
        Principal: "s3.amazonaws.com",
        SourceArn: "arn:aws:s3:::b",
      }),
    );
    expect(onlyCleared(await control.detect({ resource: functionRef(name) }, liveContext(moto, control)))).toBe(
      `Lambda function ${name} is not public, which meets the policy`,
    );
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name }));
    expect(onlyCleared(await control.detect({ resource: functionRef(name) }, liveContext(moto, control)))).toBe(
      `Lambda function ${name} no longer exists`,
    );
  });
});

describe("lambda-function-public: plan, apply, verify, rollback on moto", () => {
  async function liveFinding(name: string): Promise<Finding> {
    return onlyViolation(await control.detect({ resource: functionRef(name) }, liveContext(moto, control)));
  }

  it("plans in plain words who loses access", async () => {
    const name = await createTestFunction(moto, "plan");
    await makePublic(name);
    const plan = control.plan(await liveFinding(name), {});
    expect(plan.summary).toBe(
      `Stop anyone from invoking Lambda function ${name}: remove its public permission statements and require IAM auth on its URL.`,
    );
    expect(plan.reversible).toBe(true);
    expect(plan.steps.join(" ")).toMatch(/lose the ability to invoke it; its own role and IAM-authorised callers keep it/);
  });

  it("removes only the public statement, sets the URL to AWS_IAM, verifies, and rolls both back exactly", async () => {
    const name = await createTestFunction(moto, "fix");
    await makePublic(name);
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: name,
        StatementId: "s3",
        Action: "lambda:InvokeFunction",
        Principal: "s3.amazonaws.com",
        SourceArn: "arn:aws:s3:::b",
      }),
    );
    await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: name, AuthType: "NONE" }));
    const before = await policyStatements(moto, name);
    const ctx = liveContext(moto, control);
    const plan = control.plan(await liveFinding(name), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({
      arn: functionRef(name).arn,
      value: { publicStatements: [{ sid: PUBLIC_SID, action: "lambda:InvokeFunction" }], urlAuthType: "NONE" },
    });
    expect(await policyStatements(moto, name)).toEqual({ s3: { Service: "s3.amazonaws.com" } });
    expect(await urlAuthType(name)).toBe("AWS_IAM");
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect(await policyStatements(moto, name)).toEqual(before);
    expect(await urlAuthType(name)).toBe("NONE");
  });

  it("leaves a function made private meanwhile alone, and verify fails when it turns public again", async () => {
    const name = await createTestFunction(moto, "race");
    await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: name, AuthType: "NONE" }));
    const ctx = liveContext(moto, control);
    const plan = control.plan(await liveFinding(name), ctx.options);
    await lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: name, AuthType: "AWS_IAM" }));
    const applied = await control.apply(plan, ctx);
    expect(applied.after).toEqual(applied.before);
    await makePublic(name, "later");
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: expect.stringMatching(/statement later/) });
  });
});

describe("lambda-function-public: sweep", () => {
  it("lists the region's functions once and finds the public ones", async () => {
    const open = await createTestFunction(moto, "sweep-open");
    await makePublic(open);
    const closed = await createTestFunction(moto, "sweep-closed");
    const ctx = liveContext(moto, control);
    const refs = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual(expect.arrayContaining([functionRef(open), functionRef(closed)]));
    expect((await control.detect({ resource: functionRef(open) }, ctx)).map((v) => v.kind)).toEqual(["violation"]);
    expect((await control.detect({ resource: functionRef(closed) }, ctx)).map((v) => v.kind)).toEqual(["no-longer-applies"]);
  });
});

describe.runIf(corpusAvailable())("lambda-function-public: real corpus records", () => {
  it('flags real AddPermission records that grant principal "*", and no record that does not say', async () => {
    const events = [...corpusEventsFor(triggerNamed("AddPermission20150331v2")), ...corpusEventsFor(triggerNamed("AddPermission20150331"))];
    expect(events.length).toBeGreaterThan(0);
    let flagged = 0;
    for (const event of events) {
      const trigger = triggerNamed(event.name);
      const [resource] = trigger.resources(event);
      if (!resource) {
        // An index entry without request parameters names no function: nothing to detect.
        expect(event.request?.functionName).toBeUndefined();
        continue;
      }
      expect(resource.id).toBe(event.request?.functionName);
      const verdicts = await control.detect({ resource, event }, offlineContext(moto, control));
      if (event.request?.principal === "*") {
        flagged += 1;
        expect(onlyViolation(verdicts).evidence).toMatchObject({ current: { publicStatements: [{ sid: event.request.statementId }] } });
      } else {
        // Detection-rule fixtures trimmed to the function name say nothing about the principal.
        expect(verdicts).toEqual([]);
      }
    }
    expect(flagged).toBeGreaterThan(0);
  });
});
