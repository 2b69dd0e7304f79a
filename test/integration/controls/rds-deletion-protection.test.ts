import type { Finding, ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { dbClusterRef, dbInstanceRef } from "../../../remediations/lib/rds";
import { control } from "../../../remediations/rds-deletion-protection";
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
  modifyInstance,
  rdsEvent,
} from "../../support/rds";

const moto = useMoto();
const context = () => liveContext(moto, control);
const offline = () => offlineContext(moto, control);

const triggerFor = (name: string) => triggerNamed(control, name);

const instance = (id: string) => dbInstanceRef(id, MOTO_ACCOUNT, MOTO_REGION);
const cluster = (id: string) => dbClusterRef(id, MOTO_ACCOUNT, MOTO_REGION);

describe("rds-deletion-protection: identity and triggers", () => {
  it("is registered, covers instances and clusters, and declares exact IAM actions", () => {
    expect(controlById("rds-deletion-protection")).toBe(control);
    expect(control.category).toBe("availability");
    expect(control.defaultMode).toBeUndefined();
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "rds.amazonaws.com CreateDBInstance",
      "rds.amazonaws.com ModifyDBInstance",
      "rds.amazonaws.com CreateDBCluster",
      "rds.amazonaws.com ModifyDBCluster",
    ]);
    expect(control.permissions).toEqual({
      detect: ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:ListTagsForResource"],
      apply: ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:ModifyDBInstance", "rds:ModifyDBCluster"],
      rollback: ["rds:ModifyDBInstance", "rds:ModifyDBCluster"],
    });
  });

  it("takes no options and names an unknown one", () => {
    expect(control.options.parse(undefined)).toEqual({});
    const typo = control.options.safeParse({ enabled: false });
    expect(typo.success).toBe(false);
    expect(typo.error?.issues[0]?.message).toMatch(/enabled/);
  });

  it("reads the identifier from the request or the response echo, in RDS's lower case", () => {
    const modify = triggerFor("ModifyDBInstance");
    expect(modify.resources(rdsEvent("ModifyDBInstance", { dBInstanceIdentifier: "PHI-Db" }))).toEqual([instance("phi-db")]);
    expect(modify.resources(rdsEvent("ModifyDBInstance", null, { dBInstanceIdentifier: "phi-db" }))).toEqual([instance("phi-db")]);
    expect(
      triggerFor("ModifyDBCluster").resources(
        rdsEvent("ModifyDBCluster", { dBClusterIdentifier: "aurora-phi" }, { dBClusterIdentifier: "aurora-phi" }),
      ),
    ).toEqual([cluster("aurora-phi")]);
  });

  it("yields nothing for null, empty or redacted parameters", () => {
    const modify = triggerFor("ModifyDBInstance");
    expect(modify.resources(rdsEvent("ModifyDBInstance", null))).toEqual([]);
    expect(modify.resources(rdsEvent("ModifyDBInstance", {}))).toEqual([]);
    expect(modify.resources(rdsEvent("ModifyDBInstance", { dBInstanceIdentifier: "..." }))).toEqual([]);
  });
});

describe("rds-deletion-protection: offline detection", () => {
  const offlineVerdicts = (name: string, request: Record<string, unknown> | null, response: Record<string, unknown> | null = null) =>
    detectEvent(control, rdsEvent(name, request, response), offline());

  it("flags a modification that turns protection off, unconfirmed", async () => {
    const finding = onlyViolation(await offlineVerdicts("ModifyDBInstance", { dBInstanceIdentifier: "db1", deletionProtection: false }));
    expect(finding).toMatchObject({
      confirmed: false,
      summary: "DB instance db1 has deletion protection off",
      evidence: { current: false, required: true },
    });
  });

  it("flags a creation that does not ask for protection (the RDS default), and not one that does", async () => {
    onlyViolation(await offlineVerdicts("CreateDBCluster", { dBClusterIdentifier: "c1", engine: "aurora-postgresql" }));
    expect(await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db2", deletionProtection: true })).toEqual([]);
  });

  it("reads the response when the request does not say, and stays silent when neither does", async () => {
    onlyViolation(
      await offlineVerdicts(
        "ModifyDBInstance",
        { dBInstanceIdentifier: "db3", allocatedStorage: 30 },
        { dBInstanceIdentifier: "db3", deletionProtection: false },
      ),
    );
    expect(await offlineVerdicts("ModifyDBInstance", { dBInstanceIdentifier: "db3", allocatedStorage: 30 })).toEqual([]);
  });

  it("leaves an Aurora member instance to its cluster", async () => {
    expect(
      await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "m1", dBClusterIdentifier: "c1", engine: "aurora-mysql" }),
    ).toEqual([]);
  });
});

describe("rds-deletion-protection: live detection on moto", () => {
  it("confirms an unprotected instance, with its tags", async () => {
    const ref = await createDbInstance(moto, "dp-live-1", { tags: { DataClassification: "PHI" } });
    const event = rdsEvent("CreateDBInstance", { dBInstanceIdentifier: "dp-live-1" });
    const finding = onlyViolation(await control.detect({ resource: ref, event }, context()));
    expect(finding).toMatchObject({ confirmed: true, tags: { DataClassification: "PHI" }, resource: ref, event: { id: event.id } });
  });

  it("confirms an unprotected cluster", async () => {
    const ref = await createDbCluster(moto, "dp-live-cluster");
    const finding = onlyViolation(await control.detect({ resource: ref }, context()));
    expect(finding.summary).toBe("DB cluster dp-live-cluster has deletion protection off");
  });

  it("trusts live state over a late event when protection is back on", async () => {
    const ref = await createDbInstance(moto, "dp-live-2", { deletionProtection: true });
    const event = rdsEvent("ModifyDBInstance", { dBInstanceIdentifier: "dp-live-2", deletionProtection: false });
    expect(onlyCleared(await control.detect({ resource: ref, event }, context()))).toBe(
      "DB instance dp-live-2 is protected from deletion, which meets the policy",
    );
  });

  it("gives no verdict for a change to another setting of a protected database (siblings share the trigger)", async () => {
    const ref = await createDbInstance(moto, "dp-live-3", { deletionProtection: true });
    const event = rdsEvent("ModifyDBInstance", { dBInstanceIdentifier: "dp-live-3", allocatedStorage: 40 });
    expect(await control.detect({ resource: ref, event }, context())).toEqual([]);
  });

  it("reports a deleted database as no longer applying", async () => {
    const ref = await createDbInstance(moto, "dp-live-gone");
    await deleteInstance(moto, ref);
    expect(onlyCleared(await control.detect({ resource: ref }, context()))).toBe("DB instance dp-live-gone no longer exists");
    expect(onlyCleared(await control.detect({ resource: cluster("dp-never") }, context()))).toBe("DB cluster dp-never no longer exists");
  });

  it("leaves an Aurora member to its cluster", async () => {
    await createDbCluster(moto, "dp-aurora", { members: ["dp-aurora-1"] });
    expect(onlyCleared(await control.detect({ resource: instance("dp-aurora-1") }, context()))).toMatch(/protected through its DB cluster/);
  });
});

describe("rds-deletion-protection: plan, apply, verify, rollback on moto", () => {
  async function finding(ref: ResourceRef): Promise<Finding> {
    return onlyViolation(await control.detect({ resource: ref }, context()));
  }

  it("plans a reversible change in plain words", async () => {
    const ref = await createDbInstance(moto, "dp-plan");
    const plan = control.plan(await finding(ref), control.options.parse({}));
    expect(plan).toMatchObject({
      summary: "Turn deletion protection back on for DB instance dp-plan.",
      reversible: true,
      params: { required: true },
    });
    expect(plan.steps.join(" ")).toMatch(/set it to protected from deletion \(now not protected from deletion\)/);
  });

  it("turns protection on for an instance, verifies, and rolls back to off", async () => {
    const ref = await createDbInstance(moto, "dp-apply");
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ref.arn, value: false });
    expect((await describeInstance(moto, ref)).DeletionProtection).toBe(true);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true, state: { value: true } });
    await control.rollback(plan, applied.before, ctx);
    expect((await describeInstance(moto, ref)).DeletionProtection).toBe(false);
  });

  it("does the same for a cluster", async () => {
    const ref = await createDbCluster(moto, "dp-apply-cluster");
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect((await describeCluster(moto, ref)).DeletionProtection).toBe(true);
    await control.rollback(plan, applied.before, ctx);
    expect((await describeCluster(moto, ref)).DeletionProtection).toBe(false);
  });

  it("changes nothing when protection came back meanwhile; verify fails once it is off again", async () => {
    const ref = await createDbInstance(moto, "dp-race");
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    await modifyInstance(moto, ref, { DeletionProtection: true });
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual(applied.after);
    await modifyInstance(moto, ref, { DeletionProtection: false });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: "DB instance dp-race has deletion protection off" });
  });

  it("ends as gone when the database was deleted before apply, and refuses a captured state for another database", async () => {
    const ref = await createDbInstance(moto, "dp-vanish");
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    await expect(control.rollback(plan, { arn: instance("other").arn, value: false }, ctx)).rejects.toThrow(/field arn/);
    await deleteInstance(moto, ref);
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "ResourceGoneError" });
  });
});

describe("rds-deletion-protection: sweep", () => {
  it("lists instances and clusters, and finds the unprotected ones", async () => {
    const protectedRef = await createDbInstance(moto, "dp-sweep-on", { deletionProtection: true });
    const exposed = await createDbCluster(moto, "dp-sweep-off");
    const ctx = context();
    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual(expect.arrayContaining([protectedRef, exposed]));
    const verdicts = (await Promise.all([protectedRef, exposed].map((resource) => control.detect({ resource }, ctx)))).flat();
    expect(verdicts.map((v) => v.kind)).toEqual(["no-longer-applies", "violation"]);
  });
});

describe.runIf(corpusAvailable())("rds-deletion-protection: real corpus records", () => {
  /** The databases whose records leave them unprotected; every other record of these triggers flags nothing. */
  const UNPROTECTED = ["onenessdb", "test-instance", "production-mysql", "customer-database", "my-database", "aurora-production"];

  it("flags exactly the records that leave a database without deletion protection", async () => {
    const flagged = await corpusViolations(control, offline());
    expect(flagged).toEqual([...UNPROTECTED].sort());
  });
});
