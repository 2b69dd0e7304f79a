import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import type { ChangeEvent, Finding, ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control } from "../../../remediations/dynamodb-point-in-time-recovery";
import { tableRef } from "../../../remediations/lib/dynamodb";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { detectEvent, triggerNamed } from "../../support/control-checks";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { createTable, recoveryStatus, setRecovery } from "./scenarios/dynamodb-point-in-time-recovery";

const moto = useMoto();
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = (options: Record<string, unknown> = {}) => offlineContext(moto, control, options);
const PHI = { DataClassification: "PHI" };
const table = (name: string) => tableRef(name, MOTO_ACCOUNT, MOTO_REGION);

function dynamodbEvent(
  name: string,
  request: Record<string, unknown> | null,
  response: Record<string, unknown> | null = null,
): ChangeEvent {
  return changeEventOf(
    cloudTrailRecord({ eventSource: "dynamodb.amazonaws.com", eventName: name, requestParameters: request, responseElements: response }),
  );
}

const triggerFor = (name: string) => triggerNamed(control, name);

const disableRequest = (tableName: string, enabled: unknown = false) => ({
  tableName,
  pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: enabled },
});

describe("dynamodb-point-in-time-recovery: identity, options and triggers", () => {
  it("is registered with exact IAM actions", () => {
    expect(controlById("dynamodb-point-in-time-recovery")).toBe(control);
    expect(control.category).toBe("backup");
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "dynamodb.amazonaws.com CreateTable",
      "dynamodb.amazonaws.com UpdateContinuousBackups",
    ]);
    expect(control.permissions).toEqual({
      detect: ["dynamodb:DescribeContinuousBackups", "dynamodb:ListTables", "dynamodb:ListTagsOfResource"],
      apply: ["dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups"],
      rollback: ["dynamodb:UpdateContinuousBackups"],
    });
  });

  it("covers every table by default, and names a bad scope", () => {
    expect(control.options.parse(undefined)).toEqual({ scope: "all" });
    const bad = control.options.safeParse({ scope: "PHI-only" });
    expect(bad.error?.issues[0]?.path).toEqual(["scope"]);
  });

  it("reads the table from its name, its ARN, or CreateTable's response; nothing from null", () => {
    const update = triggerFor("UpdateContinuousBackups");
    expect(update.resources(dynamodbEvent("UpdateContinuousBackups", disableRequest("claims")))).toEqual([table("claims")]);
    expect(
      update.resources(
        dynamodbEvent("UpdateContinuousBackups", disableRequest(`arn:aws:dynamodb:${MOTO_REGION}:${MOTO_ACCOUNT}:table/claims`)),
      ),
    ).toEqual([table("claims")]);
    expect(triggerFor("CreateTable").resources(dynamodbEvent("CreateTable", null, { tableDescription: { tableName: "visits" } }))).toEqual([
      table("visits"),
    ]);
    expect(update.resources(dynamodbEvent("UpdateContinuousBackups", null))).toEqual([]);
  });
});

describe("dynamodb-point-in-time-recovery: offline detection", () => {
  const offlineVerdicts = (name: string, request: Record<string, unknown> | null, options = {}) =>
    detectEvent(control, dynamodbEvent(name, request), offline(options));

  it("flags PITR turned off (boolean or string) and every new table", async () => {
    const finding = onlyViolation(await offlineVerdicts("UpdateContinuousBackups", disableRequest("t1")));
    expect(finding).toMatchObject({
      confirmed: false,
      summary: "Table t1 has point-in-time recovery off",
      evidence: { current: false, required: true },
    });
    onlyViolation(await offlineVerdicts("UpdateContinuousBackups", disableRequest("t1", "false")));
    onlyViolation(await offlineVerdicts("CreateTable", { tableName: "t2" }));
  });

  it("says nothing for PITR turned on, or an unreadable value", async () => {
    expect(await offlineVerdicts("UpdateContinuousBackups", disableRequest("t3", true))).toEqual([]);
    expect(await offlineVerdicts("UpdateContinuousBackups", { tableName: "t3" })).toEqual([]);
  });

  it("with scope phi, flags only a new table whose request carries a PHI tag", async () => {
    expect(await offlineVerdicts("CreateTable", { tableName: "t4" }, { scope: "phi" })).toEqual([]);
    onlyViolation(await offlineVerdicts("CreateTable", { tableName: "t5", tags: [{ key: "PHI", value: "true" }] }, { scope: "phi" }));
  });
});

describe("dynamodb-point-in-time-recovery: live detection on moto", () => {
  it("confirms a table without PITR, with its tags", async () => {
    const ref = await createTable(moto, "pitr-live-1", PHI);
    expect(onlyViolation(await control.detect({ resource: ref }, context()))).toMatchObject({ confirmed: true, tags: PHI, resource: ref });
  });

  it("no longer applies once PITR is on or the table is gone", async () => {
    const ref = await createTable(moto, "pitr-live-2");
    const dynamodb = await moto.clients.dynamodb(MOTO_REGION);
    await setRecovery(dynamodb, ref.id, true);
    expect(onlyCleared(await control.detect({ resource: ref }, context()))).toBe(
      "table pitr-live-2 is covered by point-in-time recovery, which meets the policy",
    );
    await dynamodb.send(new DeleteTableCommand({ TableName: ref.id }));
    expect(onlyCleared(await control.detect({ resource: ref }, context()))).toBe("table pitr-live-2 no longer exists");
  });

  it("with scope phi, leaves untagged tables alone", async () => {
    const plain = await createTable(moto, "pitr-live-plain");
    expect(await control.detect({ resource: plain }, context({ scope: "phi" }))).toEqual([]);
    onlyViolation(await control.detect({ resource: plain }, context()));
  });
});

describe("dynamodb-point-in-time-recovery: plan, apply, verify, rollback on moto", () => {
  async function finding(ref: ResourceRef): Promise<Finding> {
    return onlyViolation(await control.detect({ resource: ref }, context()));
  }

  it("plans the change with its cost", async () => {
    const ref = await createTable(moto, "pitr-plan");
    const plan = control.plan(await finding(ref), control.options.parse({}));
    expect(plan).toMatchObject({
      summary: "Turn on point-in-time recovery for table pitr-plan.",
      reversible: true,
      params: { required: true },
    });
    expect(plan.steps.join(" ")).toMatch(/billed per GB/);
  });

  it("enables PITR, verifies, and disables it on rollback", async () => {
    const ref = await createTable(moto, "pitr-apply", PHI);
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ref.arn, value: false });
    expect(await recoveryStatus(moto, ref)).toBe("ENABLED");
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true, state: { value: true } });
    await control.rollback(plan, applied.before, ctx);
    expect(await recoveryStatus(moto, ref)).toBe("DISABLED");
  });

  it("ends as gone when the table was deleted before apply, and verify says so", async () => {
    const ref = await createTable(moto, "pitr-gone");
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    await (await moto.clients.dynamodb(MOTO_REGION)).send(new DeleteTableCommand({ TableName: ref.id }));
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "ResourceGoneError" });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: "table pitr-gone no longer exists" });
  });
});

describe("dynamodb-point-in-time-recovery: sweep", () => {
  it("lists the tables of the sweep's regions and finds those without PITR", async () => {
    const on = await createTable(moto, "pitr-sweep-on");
    await setRecovery(await moto.clients.dynamodb(MOTO_REGION), on.id, true);
    const off = await createTable(moto, "pitr-sweep-off");
    const elsewhere = await createTable(moto, "pitr-sweep-eu", {}, "eu-west-1");
    const ctx = context();
    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual(expect.arrayContaining([on, off]));
    expect(refs).not.toContainEqual(elsewhere);
    const verdicts = (await Promise.all([on, off].map((resource) => control.detect({ resource }, ctx)))).flat();
    expect(verdicts.map((v) => v.kind)).toEqual(["no-longer-applies", "violation"]);
  });
});
