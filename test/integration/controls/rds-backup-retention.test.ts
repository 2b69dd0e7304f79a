import type { Finding, ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { dbClusterRef, dbInstanceRef } from "../../../remediations/lib/rds";
import { control } from "../../../remediations/rds-backup-retention";
import { liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable } from "../../support/corpus";
import { corpusViolations, detectEvent, triggerNamed } from "../../support/control-checks";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import {
  createDbCluster,
  createDbInstance,
  deleteInstance,
  describeCluster,
  describeInstance,
  modifyCluster,
  modifyInstance,
  rdsEvent,
} from "../../support/rds";

const moto = useMoto();
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = (options: Record<string, unknown> = {}) => offlineContext(moto, control, options);

const triggerFor = (name: string) => triggerNamed(control, name);

const instance = (id: string) => dbInstanceRef(id, MOTO_ACCOUNT, MOTO_REGION);

describe("rds-backup-retention: identity, options and triggers", () => {
  it("is registered with the four database triggers and exact IAM actions", () => {
    expect(controlById("rds-backup-retention")).toBe(control);
    expect(control.category).toBe("backup");
    expect(control.triggers.map((t) => t.name)).toEqual(["CreateDBInstance", "ModifyDBInstance", "CreateDBCluster", "ModifyDBCluster"]);
    expect(control.permissions.apply).toEqual([
      "rds:DescribeDBInstances",
      "rds:DescribeDBClusters",
      "rds:ModifyDBInstance",
      "rds:ModifyDBCluster",
    ]);
    expect(control.permissions.rollback).toEqual(["rds:ModifyDBInstance", "rds:ModifyDBCluster"]);
  });

  it("defaults minimumDays to 7 and rejects values RDS cannot keep, naming the field", () => {
    expect(control.options.parse(undefined)).toEqual({ minimumDays: 7 });
    for (const bad of [0, 36, 2.5, "7"]) {
      const result = control.options.safeParse({ minimumDays: bad });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(["minimumDays"]);
    }
  });

  it("reads the cluster identifier from ModifyDBCluster, and nothing from null parameters", () => {
    const modify = triggerFor("ModifyDBCluster");
    expect(modify.resources(rdsEvent("ModifyDBCluster", { dBClusterIdentifier: "Aurora-1", backupRetentionPeriod: 0 }))).toEqual([
      dbClusterRef("aurora-1", MOTO_ACCOUNT, MOTO_REGION),
    ]);
    expect(modify.resources(rdsEvent("ModifyDBCluster", null))).toEqual([]);
  });
});

describe("rds-backup-retention: offline detection", () => {
  const offlineVerdicts = (
    name: string,
    request: Record<string, unknown> | null,
    response: Record<string, unknown> | null = null,
    options = {},
  ) => detectEvent(control, rdsEvent(name, request, response), offline(options));

  it("flags backups turned off, with the request's number or string", async () => {
    const finding = onlyViolation(await offlineVerdicts("ModifyDBInstance", { dBInstanceIdentifier: "db1", backupRetentionPeriod: 0 }));
    expect(finding).toMatchObject({
      confirmed: false,
      summary: "DB instance db1 has automated backups off (the policy requires 7 days)",
      evidence: { current: 0, required: 7 },
    });
    onlyViolation(await offlineVerdicts("ModifyDBCluster", { dBClusterIdentifier: "c1", backupRetentionPeriod: "3" }));
  });

  it("takes RDS's one-day default for a creation that names none, and honours the configured minimum", async () => {
    onlyViolation(await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db2" }));
    expect(await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db2" }, null, { minimumDays: 1 })).toEqual([]);
    expect(await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db3", backupRetentionPeriod: 14 })).toEqual([]);
  });

  it("says nothing when the record does not tell, or for an Aurora member", async () => {
    expect(await offlineVerdicts("ModifyDBInstance", { dBInstanceIdentifier: "db4", allocatedStorage: 50 })).toEqual([]);
    expect(await offlineVerdicts("ModifyDBInstance", { dBInstanceIdentifier: "db4", backupRetentionPeriod: "..." })).toEqual([]);
    expect(await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "m1", dBClusterIdentifier: "c1" })).toEqual([]);
  });
});

describe("rds-backup-retention: live detection on moto", () => {
  it("confirms a short retention, with tags", async () => {
    const ref = await createDbInstance(moto, "br-live-1", { backupRetentionPeriod: 3, tags: { Environment: "prod" } });
    const finding = onlyViolation(await control.detect({ resource: ref }, context()));
    expect(finding).toMatchObject({
      confirmed: true,
      tags: { Environment: "prod" },
      summary: "DB instance br-live-1 keeps automated backups for 3 days, less than the policy's 7",
    });
  });

  it("no longer applies once retention meets the policy, or when the database is gone", async () => {
    const ref = await createDbInstance(moto, "br-live-2", { backupRetentionPeriod: 10 });
    expect(onlyCleared(await control.detect({ resource: ref }, context()))).toBe(
      "DB instance br-live-2 is kept in automated backups for 10 days, which meets the policy",
    );
    await deleteInstance(moto, ref);
    expect(onlyCleared(await control.detect({ resource: ref }, context()))).toBe("DB instance br-live-2 no longer exists");
  });

  it("judges an Aurora cluster, and leaves its members to it", async () => {
    const ref = await createDbCluster(moto, "br-aurora", { backupRetentionPeriod: 1, members: ["br-aurora-1"] });
    onlyViolation(await control.detect({ resource: ref }, context()));
    expect(onlyCleared(await control.detect({ resource: instance("br-aurora-1") }, context()))).toMatch(/backed up through its DB cluster/);
  });
});

describe("rds-backup-retention: plan, apply, verify, rollback on moto", () => {
  async function finding(ref: ResourceRef, options = {}): Promise<Finding> {
    return onlyViolation(await control.detect({ resource: ref }, context(options)));
  }

  it("plans the minimum, and warns of cost and the restart when backups were off", async () => {
    const ref = await createDbInstance(moto, "br-plan", { backupRetentionPeriod: 0 });
    const plan = control.plan(await finding(ref, { minimumDays: 14 }), control.options.parse({ minimumDays: 14 }));
    expect(plan).toMatchObject({
      summary: "Keep automated backups of DB instance br-plan for 14 days.",
      reversible: true,
      params: { required: 14 },
    });
    expect(plan.steps.join(" ")).toMatch(/billed as backup storage/);
    expect(plan.steps.join(" ")).toMatch(/brief outage/);
  });

  it("sets the minimum on an instance, verifies, and rolls back to the saved value", async () => {
    const ref = await createDbInstance(moto, "br-apply", { backupRetentionPeriod: 2 });
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ref.arn, value: 2 });
    expect((await describeInstance(moto, ref)).BackupRetentionPeriod).toBe(7);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true, state: { value: 7 } });
    await control.rollback(plan, applied.before, ctx);
    expect((await describeInstance(moto, ref)).BackupRetentionPeriod).toBe(2);
  });

  it("does the same for a cluster turned off", async () => {
    const ref = await createDbCluster(moto, "br-apply-cluster", { backupRetentionPeriod: 5 });
    await modifyCluster(moto, ref, { BackupRetentionPeriod: 0 });
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect((await describeCluster(moto, ref)).BackupRetentionPeriod).toBe(7);
    await control.rollback(plan, applied.before, ctx);
    expect((await describeCluster(moto, ref)).BackupRetentionPeriod).toBe(0);
  });

  it("keeps a longer retention set meanwhile, and refuses a captured value RDS cannot hold", async () => {
    const ref = await createDbInstance(moto, "br-race", { backupRetentionPeriod: 1 });
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    await modifyInstance(moto, ref, { BackupRetentionPeriod: 30 });
    const applied = await control.apply(plan, ctx);
    expect(applied.after).toEqual({ arn: ref.arn, value: 30 });
    expect((await describeInstance(moto, ref)).BackupRetentionPeriod).toBe(30);
    await expect(control.rollback(plan, { arn: ref.arn, value: 90 }, ctx)).rejects.toThrow(/field value/);
  });
});

describe("rds-backup-retention: sweep", () => {
  it("finds short retention among instances and clusters", async () => {
    const ok = await createDbInstance(moto, "br-sweep-ok", { backupRetentionPeriod: 7 });
    const short = await createDbCluster(moto, "br-sweep-short", { backupRetentionPeriod: 1 });
    const ctx = context();
    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual(expect.arrayContaining([ok, short]));
    const verdicts = (await Promise.all([ok, short].map((resource) => control.detect({ resource }, ctx)))).flat();
    expect(verdicts.map((v) => v.kind)).toEqual(["no-longer-applies", "violation"]);
  });
});

describe.runIf(corpusAvailable())("rds-backup-retention: real corpus records", () => {
  /** Created with RDS's one-day default, or modified to 0; no other record states a retention. */
  const SHORT = ["aurora-production", "my-database", "onenessdb", "test-instance"];

  it("flags exactly the records that leave backups below seven days", async () => {
    const flagged = await corpusViolations(control, offline());
    expect(flagged).toEqual(SHORT);
  });
});
