import type { ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { dbInstanceRef } from "../../../remediations/lib/rds";
import { control } from "../../../remediations/rds-storage-encrypted";
import { liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable } from "../../support/corpus";
import { corpusViolations, detectEvent, triggerNamed } from "../../support/control-checks";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { createDbCluster, createDbInstance, deleteInstance, describeInstance, rdsEvent } from "../../support/rds";

const moto = useMoto();
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = () => offlineContext(moto, control);
const KEY_ARN = `arn:aws:kms:${MOTO_REGION}:${MOTO_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const triggerFor = (name: string) => triggerNamed(control, name);

describe("rds-storage-encrypted: identity, options and triggers", () => {
  it("is registered, watches creations only, and needs only read actions", () => {
    expect(controlById("rds-storage-encrypted")).toBe(control);
    expect(control.category).toBe("encryption-at-rest");
    expect(control.triggers.map((t) => t.name)).toEqual(["CreateDBInstance", "CreateDBCluster"]);
    expect(control.permissions.apply).toEqual(["rds:DescribeDBInstances", "rds:DescribeDBClusters"]);
  });

  it("accepts a KMS key for the plan and names a malformed one", () => {
    expect(control.options.parse({})).toEqual({});
    expect(control.options.parse({ kmsKeyId: "alias/phi-rds" })).toEqual({ kmsKeyId: "alias/phi-rds" });
    const bad = control.options.safeParse({ kmsKeyId: "my key" });
    expect(bad.error?.issues[0]?.path).toEqual(["kmsKeyId"]);
  });

  it("extracts the new database from the request or the response, and nothing from null", () => {
    expect(triggerFor("CreateDBInstance").resources(rdsEvent("CreateDBInstance", null, { dBInstanceIdentifier: "new-db" }))).toEqual([
      dbInstanceRef("new-db", MOTO_ACCOUNT, MOTO_REGION),
    ]);
    expect(triggerFor("CreateDBCluster").resources(rdsEvent("CreateDBCluster", null))).toEqual([]);
  });
});

describe("rds-storage-encrypted: offline detection", () => {
  const offlineVerdicts = (name: string, request: Record<string, unknown> | null, response: Record<string, unknown> | null = null) =>
    detectEvent(control, rdsEvent(name, request, response), offline());

  it("flags a creation without encryption, stated or by default", async () => {
    const stated = onlyViolation(
      await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db1" }, { dBInstanceIdentifier: "db1", storageEncrypted: false }),
    );
    expect(stated).toMatchObject({ confirmed: false, summary: "DB instance db1 stores its data unencrypted" });
    onlyViolation(await offlineVerdicts("CreateDBCluster", { dBClusterIdentifier: "c1", engine: "aurora-mysql" }));
  });

  it("accepts an encrypted creation, one with a KMS key, and leaves Aurora members to their cluster", async () => {
    expect(await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "db2", storageEncrypted: true })).toEqual([]);
    expect(await offlineVerdicts("CreateDBCluster", { dBClusterIdentifier: "c2", kmsKeyId: KEY_ARN })).toEqual([]);
    expect(await offlineVerdicts("CreateDBInstance", { dBInstanceIdentifier: "m1", dBClusterIdentifier: "c2" })).toEqual([]);
  });
});

describe("rds-storage-encrypted: live detection and the notify-only plan on moto", () => {
  it("confirms an unencrypted instance; an encrypted one and a deleted one no longer apply", async () => {
    const plain = await createDbInstance(moto, "enc-plain", { tags: { DataClassification: "PHI" } });
    expect(onlyViolation(await control.detect({ resource: plain }, context()))).toMatchObject({
      confirmed: true,
      tags: { DataClassification: "PHI" },
    });
    const sealed = await createDbInstance(moto, "enc-sealed", { storageEncrypted: true });
    expect(onlyCleared(await control.detect({ resource: sealed }, context()))).toBe(
      "DB instance enc-sealed is encrypted at rest, which meets the policy",
    );
    await deleteInstance(moto, plain);
    expect(onlyCleared(await control.detect({ resource: plain }, context()))).toBe("DB instance enc-plain no longer exists");
  });

  it("plans the snapshot, encrypted copy and restore with the configured key, and never applies", async () => {
    const ref = await createDbInstance(moto, "enc-plan");
    const ctx = context({ kmsKeyId: KEY_ARN });
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    expect(plan).toMatchObject({
      notifyOnly: true,
      reversible: false,
      summary: "Report that DB instance enc-plan is unencrypted; the engine cannot change it.",
    });
    const steps = plan.steps.join("\n");
    expect(steps).toMatch(/cannot encrypt an existing database in place/);
    expect(steps).toMatch(/CreateDBSnapshot/);
    expect(steps).toMatch(new RegExp(`CopyDBSnapshot with KmsKeyId`));
    expect(steps).toContain(KEY_ARN);
    expect(steps).toMatch(/RestoreDBInstanceFromDBSnapshot/);
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "NotifyOnlyPlanError" });
    await expect(control.rollback(plan, { arn: ref.arn, value: false }, ctx)).rejects.toMatchObject({ name: "NotifyOnlyPlanError" });
    expect((await describeInstance(moto, ref)).StorageEncrypted).toBe(false);
  });

  it("gives a cluster the cluster snapshot steps", async () => {
    const ref = await createDbCluster(moto, "enc-cluster");
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, context())), control.options.parse({}));
    expect(plan.steps.join("\n")).toMatch(/CopyDBClusterSnapshot .*RestoreDBClusterFromSnapshot/s);
  });
});

describe("rds-storage-encrypted: sweep", () => {
  it("finds unencrypted databases among those listed", async () => {
    const plain = await createDbCluster(moto, "enc-sweep-plain");
    const sealed = await createDbInstance(moto, "enc-sweep-sealed", { storageEncrypted: true });
    const ctx = context();
    const refs: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) refs.push(ref);
    expect(refs).toEqual(expect.arrayContaining([plain, sealed]));
    const verdicts = (await Promise.all([plain, sealed].map((resource) => control.detect({ resource }, ctx)))).flat();
    expect(verdicts.map((v) => v.kind)).toEqual(["violation", "no-longer-applies"]);
  });
});

describe.runIf(corpusAvailable())("rds-storage-encrypted: real corpus records", () => {
  it("flags both real CreateDBInstance records, whose responses say storageEncrypted false", async () => {
    const flagged = await corpusViolations(control, offline());
    expect(flagged).toEqual(["onenessdb", "test-instance"]);
  });
});
