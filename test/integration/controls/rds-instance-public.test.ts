import type { Finding, ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { dbClusterRef, dbInstanceRef } from "../../../remediations/lib/rds";
import { control } from "../../../remediations/rds-instance-public";
import { liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable } from "../../support/corpus";
import { corpusViolations, detectEvent, triggerNamed } from "../../support/control-checks";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { createDbCluster, createDbInstance, deleteInstance, describeInstance, modifyInstance, rdsEvent } from "../../support/rds";

const moto = useMoto();
const context = () => liveContext(moto, control);
const offline = () => offlineContext(moto, control);
const instance = (id: string) => dbInstanceRef(id, MOTO_ACCOUNT, MOTO_REGION);

const triggerFor = (name: string) => triggerNamed(control, name);

describe("rds-instance-public: identity and triggers", () => {
  it("is registered, asks for approval by default, and declares exact IAM actions", () => {
    expect(controlById("rds-instance-public")).toBe(control);
    expect(control.category).toBe("public-exposure");
    expect(control.defaultMode).toBe("approve");
    expect(control.triggers.map((t) => t.name)).toEqual(["CreateDBInstance", "ModifyDBInstance", "ModifyDBCluster"]);
    expect(control.permissions).toEqual({
      detect: ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:ListTagsForResource"],
      apply: ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:ModifyDBInstance"],
      rollback: ["rds:DescribeDBClusters", "rds:ModifyDBInstance"],
    });
    expect(control.options.safeParse({ allow: true }).error?.issues[0]?.message).toMatch(/allow/);
  });

  it("extracts instances and clusters, and nothing from null parameters", () => {
    expect(
      triggerFor("ModifyDBInstance").resources(rdsEvent("ModifyDBInstance", { dBInstanceIdentifier: "Prod-DB", publiclyAccessible: true })),
    ).toEqual([instance("prod-db")]);
    expect(triggerFor("ModifyDBCluster").resources(rdsEvent("ModifyDBCluster", { dBClusterIdentifier: "aurora" }))).toEqual([
      dbClusterRef("aurora", MOTO_ACCOUNT, MOTO_REGION),
    ]);
    expect(triggerFor("CreateDBInstance").resources(rdsEvent("CreateDBInstance", null))).toEqual([]);
  });
});

describe("rds-instance-public: offline detection", () => {
  const offlineVerdicts = (name: string, request: Record<string, unknown> | null, response: Record<string, unknown> | null = null) =>
    detectEvent(control, rdsEvent(name, request, response), offline());

  it("flags an instance made public, from the request or the string form", async () => {
    const finding = onlyViolation(await offlineVerdicts("ModifyDBInstance", { dBInstanceIdentifier: "db1", publiclyAccessible: true }));
    expect(finding).toMatchObject({
      confirmed: false,
      summary: "DB instance db1 is publicly accessible",
      evidence: { current: { db1: true }, required: { db1: false } },
    });
    onlyViolation(await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db2", publiclyAccessible: "true" }));
  });

  it("flags a cluster record by its members, or by the cluster when the record lists none", async () => {
    const listed = onlyViolation(
      await offlineVerdicts(
        "ModifyDBCluster",
        { dBClusterIdentifier: "c1", publiclyAccessible: true },
        {
          dBClusterIdentifier: "c1",
          dBClusterMembers: [{ dBInstanceIdentifier: "c1-a" }, { dBInstanceIdentifier: "C1-B" }],
        },
      ),
    );
    expect(listed.summary).toBe("DB cluster c1 has publicly accessible instances: c1-a, c1-b");
    expect(
      onlyViolation(await offlineVerdicts("ModifyDBCluster", { dBClusterIdentifier: "c2", publiclyAccessible: true })).evidence.current,
    ).toEqual({ c2: true });
  });

  it("says nothing for a private database or a record that does not tell", async () => {
    expect(await offlineVerdicts("ModifyDBInstance", { dBInstanceIdentifier: "db3", publiclyAccessible: false })).toEqual([]);
    expect(await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db4" })).toEqual([]);
  });
});

describe("rds-instance-public: live detection on moto", () => {
  it("confirms a public instance; a private one, one never set (null) and a deleted one no longer apply", async () => {
    const open = await createDbInstance(moto, "pub-open", { publiclyAccessible: true, tags: { DataClassification: "PHI" } });
    expect(onlyViolation(await control.detect({ resource: open }, context()))).toMatchObject({
      confirmed: true,
      tags: { DataClassification: "PHI" },
    });
    const closed = await createDbInstance(moto, "pub-closed", { publiclyAccessible: false });
    expect(onlyCleared(await control.detect({ resource: closed }, context()))).toBe(
      "DB instance pub-closed is not publicly accessible, which meets the policy",
    );
    const unset = await createDbInstance(moto, "pub-unset");
    expect(onlyCleared(await control.detect({ resource: unset }, context()))).toMatch(/not publicly accessible/);
    await deleteInstance(moto, unset);
    expect(onlyCleared(await control.detect({ resource: unset }, context()))).toBe("DB instance pub-unset no longer exists");
  });

  it("judges a cluster by its member instances", async () => {
    const ref = await createDbCluster(moto, "pub-aurora", { members: ["pub-aurora-1", "pub-aurora-2"], publiclyAccessible: false });
    await modifyInstance(moto, instance("pub-aurora-2"), { PubliclyAccessible: true });
    const finding = onlyViolation(await control.detect({ resource: ref }, context()));
    expect(finding.evidence.current).toEqual({ "pub-aurora-1": false, "pub-aurora-2": true });
  });
});

describe("rds-instance-public: plan, apply, verify, rollback on moto", () => {
  async function finding(ref: ResourceRef): Promise<Finding> {
    return onlyViolation(await control.detect({ resource: ref }, context()));
  }

  it("plans the change and says who loses access", async () => {
    const ref = await createDbInstance(moto, "pub-plan", { publiclyAccessible: true });
    const plan = control.plan(await finding(ref), control.options.parse({}));
    expect(plan).toMatchObject({
      summary: "Remove the public endpoint of DB instance pub-plan.",
      reversible: true,
      params: { required: { "pub-plan": false } },
    });
    expect(plan.steps.join(" ")).toMatch(/clients outside the VPC .* lose the public endpoint/);
  });

  it("makes an instance private, verifies, and makes it public again on rollback", async () => {
    const ref = await createDbInstance(moto, "pub-apply", { publiclyAccessible: true });
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ref.arn, value: { "pub-apply": true } });
    expect((await describeInstance(moto, ref)).PubliclyAccessible).toBe(false);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect((await describeInstance(moto, ref)).PubliclyAccessible).toBe(true);
  });

  it("makes a cluster's public member private and restores exactly the previous mix", async () => {
    const ref = await createDbCluster(moto, "pub-fix-aurora", {
      members: ["pub-fix-aurora-1", "pub-fix-aurora-2"],
      publiclyAccessible: false,
    });
    await modifyInstance(moto, instance("pub-fix-aurora-1"), { PubliclyAccessible: true });
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect((await describeInstance(moto, instance("pub-fix-aurora-1"))).PubliclyAccessible).toBe(false);
    await control.rollback(plan, applied.before, ctx);
    expect((await describeInstance(moto, instance("pub-fix-aurora-1"))).PubliclyAccessible).toBe(true);
    expect((await describeInstance(moto, instance("pub-fix-aurora-2"))).PubliclyAccessible).toBe(false);
  });

  it("refuses a captured state that is not a map of instances", async () => {
    const ref = await createDbInstance(moto, "pub-bad", { publiclyAccessible: true });
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    await expect(control.rollback(plan, { arn: ref.arn, value: true }, ctx)).rejects.toThrow(/field value/);
  });
});

describe("rds-instance-public: sweep", () => {
  it("finds the public instance among the listed databases", async () => {
    const open = await createDbInstance(moto, "pub-sweep-open", { publiclyAccessible: true });
    const closed = await createDbInstance(moto, "pub-sweep-closed", { publiclyAccessible: false });
    const ctx = context();
    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual(expect.arrayContaining([open, closed]));
    const verdicts = (await Promise.all([open, closed].map((resource) => control.detect({ resource }, ctx)))).flat();
    expect(verdicts.map((v) => v.kind)).toEqual(["violation", "no-longer-applies"]);
  });
});

describe.runIf(corpusAvailable())("rds-instance-public: real corpus records", () => {
  /** Records asking for public access, or whose full response shows a public database; the private ones are not flagged. */
  const PUBLIC = ["aurora-cluster", "customer-database", "my-database", "production-db", "test-instance"];

  it("flags exactly the records that leave a database public", async () => {
    const flagged = await corpusViolations(control, offline());
    expect(flagged).toEqual(PUBLIC);
  });
});
