import { ReadCache, createAwsClients, type AnyControl, type AwsClients, type LiveContext, type ResourceRef } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { DATABASE_CHANGE_TRIGGERS, RDS_SOURCE } from "../../../remediations/lib/rds";
import { liveContext } from "../../support/control-harness";
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto } from "../../support/moto";
import { createDbCluster, createDbInstance } from "../../support/rds";

const moto = useMoto();

/** Every registered control over databases (not snapshots): they share the instance and cluster kinds of remediations/lib/rds.ts. */
const DATABASE_CALLS = new Set(DATABASE_CHANGE_TRIGGERS.map((trigger) => trigger.name));
/** The database controls: every rds-* control listening to the database calls (snapshot-public and the data-store
 * classification control listen to RDS too, but govern snapshots, or instances only among other stores). */
const rdsControls = controls.filter(
  (control) =>
    control.id.startsWith("rds-") && control.triggers.some((trigger) => trigger.source === RDS_SOURCE && DATABASE_CALLS.has(trigger.name)),
);

/** Engine clients against this file's moto whose RDS client counts the calls it sends, by command name. */
async function countingClients(): Promise<{ aws: AwsClients; calls: Map<string, number> }> {
  const aws = createAwsClients({
    endpoint: moto.endpoint,
    credentials: MOTO_CREDENTIALS,
    maxAttempts: 1,
    userAgent: "hipaa-remediate-test",
  });
  const calls = new Map<string, number>();
  const rds = await aws.rds(MOTO_REGION);
  rds.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? "unknown";
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: "initialize", name: "countRdsCalls" },
  );
  return { aws, calls };
}

function contextFor(control: AnyControl, aws: AwsClients, reads: ReadCache): LiveContext {
  return { ...liveContext(moto, control), aws, reads };
}

describe("RDS controls share one description per database", () => {
  it("covers the five database controls", () => {
    expect(rdsControls.map((control) => control.id)).toEqual(
      expect.arrayContaining([
        "rds-deletion-protection",
        "rds-backup-retention",
        "rds-multi-az",
        "rds-instance-public",
        "rds-storage-encrypted",
      ]),
    );
  });

  it("a sweep of every RDS control describes the instances and clusters once, and reads no tags separately", async () => {
    await createDbInstance(moto, "shared-a", { tags: { DataClassification: "PHI" } });
    await createDbInstance(moto, "shared-b");
    await createDbCluster(moto, "shared-c");
    const { aws, calls } = await countingClients();
    const reads = new ReadCache();
    let verdicts = 0;
    for (const control of rdsControls) {
      const ctx = contextFor(control, aws, reads);
      const refs: ResourceRef[] = [];
      for await (const ref of control.sweep(ctx)) refs.push(ref);
      expect(refs.map((ref) => ref.id)).toEqual(expect.arrayContaining(["shared-a", "shared-b", "shared-c"]));
      for (const resource of refs) verdicts += (await control.detect({ resource }, ctx)).length;
    }
    expect(verdicts).toBeGreaterThan(0);
    expect(calls.get("DescribeDBInstancesCommand")).toBe(1);
    expect(calls.get("DescribeDBClustersCommand")).toBe(1);
    expect(calls.get("ListTagsForResourceCommand")).toBeUndefined();
  });

  it("an event's controls describe its database once", async () => {
    const ref = await createDbInstance(moto, "shared-event");
    const { aws, calls } = await countingClients();
    const reads = new ReadCache();
    for (const control of rdsControls) await control.detect({ resource: ref }, contextFor(control, aws, reads));
    expect(calls.get("DescribeDBInstancesCommand")).toBe(1);
  });
});
