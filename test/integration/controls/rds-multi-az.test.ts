import type { Finding, ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { dbInstanceRef } from "../../../remediations/lib/rds";
import { control } from "../../../remediations/rds-multi-az";
import { liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusEventsFor } from "../../support/corpus";
import { detectEvent } from "../../support/control-checks";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { createDbCluster, createDbInstance, deleteInstance, describeInstance, modifyInstance, rdsEvent } from "../../support/rds";

const moto = useMoto();
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = (options: Record<string, unknown> = {}) => offlineContext(moto, control, options);
const PHI = { DataClassification: "PHI" };

describe("rds-multi-az: identity and options", () => {
  it("is registered, asks for approval by default, and declares exact IAM actions", () => {
    expect(controlById("rds-multi-az")).toBe(control);
    expect(control.category).toBe("availability");
    expect(control.defaultMode).toBe("approve");
    expect(control.triggers.map((t) => t.name)).toEqual(["CreateDBInstance", "ModifyDBInstance", "CreateDBCluster", "ModifyDBCluster"]);
    expect(control.permissions).toEqual({
      detect: ["rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:ListTagsForResource"],
      apply: ["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
      rollback: ["rds:ModifyDBInstance"],
    });
  });

  it("defaults productionTags to Environment=prod/production and names a bad entry", () => {
    expect(control.options.parse(undefined)).toEqual({ productionTags: { Environment: ["prod", "production"] } });
    const empty = control.options.safeParse({ productionTags: { Tier: [] } });
    expect(empty.success).toBe(false);
    expect(empty.error?.issues[0]?.path).toEqual(["productionTags", "Tier"]);
    expect(control.options.safeParse({ productionTag: {} }).error?.issues[0]?.message).toMatch(/productionTag/);
  });
});

describe("rds-multi-az: offline detection", () => {
  const offlineVerdicts = (name: string, request: Record<string, unknown> | null, response: Record<string, unknown> | null = null) =>
    detectEvent(control, rdsEvent(name, request, response), offline());

  it("flags a single-AZ creation tagged PHI or production (any case), from the request's tags", async () => {
    const phi = onlyViolation(
      await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db1", tags: [{ key: "DataClassification", value: "PHI" }] }),
    );
    expect(phi).toMatchObject({
      confirmed: false,
      summary: "DB instance db1 runs in a single Availability Zone",
      evidence: { current: false, required: true },
    });
    onlyViolation(
      await offlineVerdicts("CreateDBInstance", {
        dBInstanceIdentifier: "db2",
        multiAZ: false,
        tags: [{ key: "environment", value: "Production" }],
      }),
    );
  });

  it("says nothing for untagged, Multi-AZ or Aurora member creations, or a modification without tags", async () => {
    expect(await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db3" })).toEqual([]);
    expect(
      await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db4", multiAZ: true, tags: [{ key: "PHI", value: "true" }] }),
    ).toEqual([]);
    expect(
      await offlineVerdicts("CreateDBInstance", {
        dBInstanceIdentifier: "db5",
        dBClusterIdentifier: "c",
        tags: [{ key: "PHI", value: "true" }],
      }),
    ).toEqual([]);
    expect(await offlineVerdicts("ModifyDBInstance", { dBInstanceIdentifier: "db6", multiAZ: false })).toEqual([]);
  });
});

describe("rds-multi-az: live detection on moto", () => {
  it("confirms a single-AZ PHI instance and a production one", async () => {
    const phi = await createDbInstance(moto, "maz-phi", { tags: PHI });
    expect(onlyViolation(await control.detect({ resource: phi }, context()))).toMatchObject({ confirmed: true, tags: PHI });
    const prod = await createDbInstance(moto, "maz-prod", { tags: { Environment: "prod" } });
    onlyViolation(await control.detect({ resource: prod }, context()));
  });

  it("leaves untagged and non-production databases alone, and honours custom production tags", async () => {
    const plain = await createDbInstance(moto, "maz-plain");
    expect(await control.detect({ resource: plain }, context())).toEqual([]);
    const tiered = await createDbInstance(moto, "maz-tier", { tags: { Tier: "Critical" } });
    expect(await control.detect({ resource: tiered }, context())).toEqual([]);
    onlyViolation(await control.detect({ resource: tiered }, context({ productionTags: { Tier: ["critical"] } })));
  });

  it("no longer applies to a Multi-AZ instance or a deleted one", async () => {
    const ref = await createDbInstance(moto, "maz-ok", { multiAZ: true, tags: PHI });
    expect(onlyCleared(await control.detect({ resource: ref }, context()))).toBe("DB instance maz-ok is Multi-AZ, which meets the policy");
    await deleteInstance(moto, ref);
    expect(onlyCleared(await control.detect({ resource: ref }, context()))).toBe("DB instance maz-ok no longer exists");
  });
});

describe("rds-multi-az: plan, apply, verify, rollback on moto", () => {
  async function finding(ref: ResourceRef): Promise<Finding> {
    return onlyViolation(await control.detect({ resource: ref }, context()));
  }

  it("plans the change with its cost", async () => {
    const ref = await createDbInstance(moto, "maz-plan", { tags: PHI });
    const plan = control.plan(await finding(ref), control.options.parse({}));
    expect(plan).toMatchObject({ summary: "Turn on Multi-AZ for DB instance maz-plan.", reversible: true, params: { required: true } });
    expect(plan.notifyOnly).toBeUndefined();
    expect(plan.steps.join(" ")).toMatch(/roughly doubles the instance's cost/);
  });

  it("turns Multi-AZ on, verifies, and rolls back to single-AZ", async () => {
    const ref = await createDbInstance(moto, "maz-apply", { tags: PHI });
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ref.arn, value: false });
    expect((await describeInstance(moto, ref)).MultiAZ).toBe(true);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect((await describeInstance(moto, ref)).MultiAZ).toBe(false);
  });

  it("verify fails when someone turns it off again", async () => {
    const ref = await createDbInstance(moto, "maz-verify", { tags: PHI });
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    await control.apply(plan, ctx);
    await modifyInstance(moto, ref, { MultiAZ: false });
    expect(await control.verify(plan, ctx)).toMatchObject({
      ok: false,
      detail: "DB instance maz-verify runs in a single Availability Zone",
    });
  });

  it("only reports a single-AZ PHI cluster, and refuses to apply or roll back its plan", async () => {
    const ref = await createDbCluster(moto, "maz-cluster", { tags: PHI, members: ["maz-cluster-1"] });
    const ctx = context();
    const plan = control.plan(await finding(ref), ctx.options);
    expect(plan).toMatchObject({
      notifyOnly: true,
      reversible: false,
      summary: "Report that DB cluster maz-cluster is single-AZ; the engine cannot change it.",
    });
    expect(plan.steps[0]).toMatch(/reader instance in a second zone/);
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "NotifyOnlyPlanError" });
    await expect(control.rollback(plan, { arn: ref.arn, value: false }, ctx)).rejects.toMatchObject({ name: "NotifyOnlyPlanError" });
    const member = dbInstanceRef("maz-cluster-1", MOTO_ACCOUNT, MOTO_REGION);
    expect(await control.detect({ resource: member }, context())).toEqual([]);
  });
});

describe("rds-multi-az: sweep", () => {
  it("finds the single-AZ PHI instance and skips the untagged one", async () => {
    const phi = await createDbInstance(moto, "maz-sweep-phi", { tags: PHI });
    const plain = await createDbInstance(moto, "maz-sweep-plain");
    const ctx = context();
    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual(expect.arrayContaining([phi, plain]));
    expect(onlyViolation(await control.detect({ resource: phi }, ctx)).resource).toEqual(phi);
    expect(await control.detect({ resource: plain }, ctx)).toEqual([]);
  });
});

describe.runIf(corpusAvailable())("rds-multi-az: real corpus records", () => {
  it("flags none offline: no record carries a PHI or production tag, so none is in scope", async () => {
    let resources = 0;
    for (const trigger of control.triggers) {
      for (const event of corpusEventsFor(trigger)) {
        for (const resource of trigger.resources(event)) {
          resources += 1;
          expect(await control.detect({ resource, event }, offline())).toEqual([]);
        }
      }
    }
    expect(resources).toBeGreaterThan(10);
  });
});
