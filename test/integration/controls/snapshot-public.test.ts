import { randomUUID } from "node:crypto";
import { DeleteSnapshotCommand } from "@aws-sdk/client-ec2";
import {
  CreateDBClusterCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterSnapshotAttributesCommand,
  DescribeDBSnapshotAttributesCommand,
  ModifyDBClusterSnapshotAttributeCommand,
  ModifyDBSnapshotAttributeCommand,
} from "@aws-sdk/client-rds";
import { ReadCache, type ChangeEvent, type Finding, type ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DB_CLUSTER_SNAPSHOT_TYPE,
  DB_SNAPSHOT_TYPE,
  EBS_SNAPSHOT_TYPE,
  dbClusterSnapshotRef,
  dbSnapshotRef,
  ebsSnapshotRef,
} from "../../../remediations/lib/snapshots";
import { control } from "../../../remediations/snapshot-public";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusEventsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import {
  PARTNER_ACCOUNT,
  createEbsSnapshot,
  ebsPermissions,
  makePublicRecord,
  scenario,
  shareEbsSnapshot,
} from "./scenarios/snapshot-public";

// No reset between tests (EC2 default VPCs are rebuilt after each reset): every test makes its own snapshots.
const moto = useMoto();
const ec2 = await moto.clients.ec2(MOTO_REGION);
const live = () => liveContext(moto, control);
const offline = () => offlineContext(moto, control);
const suffix = () => randomUUID().slice(0, 8);

function rdsRecord(eventName: string, request: Record<string, unknown> | null, response: Record<string, unknown> | null = null) {
  return changeEventOf(
    cloudTrailRecord({ eventSource: "rds.amazonaws.com", eventName, requestParameters: request, responseElements: response }),
  );
}

function resourcesOf(event: ChangeEvent): ResourceRef[] {
  return control.triggers.filter((t) => t.source === event.source && t.name === event.name).flatMap((t) => t.resources(event));
}

async function findingsOffline(event: ChangeEvent): Promise<Finding[]> {
  const verdicts = await Promise.all(resourcesOf(event).map((resource) => control.detect({ resource, event }, offline())));
  return verdicts.flat().flatMap((v) => (v.kind === "violation" ? [v.finding] : []));
}

/** One snapshot service as the tests drive it: create, share, read the sharing back as sorted values. */
interface Flavour {
  type: string;
  noun: string;
  /** An id of this kind that does not exist. */
  missingId: string;
  create(): Promise<ResourceRef>;
  share(ref: ResourceRef, change: "add" | "remove", values: string[]): Promise<void>;
  values(ref: ResourceRef): Promise<string[]>;
}

let dbInstance = "";
let dbCluster = "";

beforeAll(async () => {
  const rds = await moto.clients.rds(MOTO_REGION);
  dbInstance = `phi-db-${suffix()}`;
  dbCluster = `phi-cluster-${suffix()}`;
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: dbInstance,
      Engine: "postgres",
      DBInstanceClass: "db.t3.micro",
      MasterUsername: "phiadmin",
      MasterUserPassword: randomUUID(),
      AllocatedStorage: 20,
    }),
  );
  await rds.send(
    new CreateDBClusterCommand({
      DBClusterIdentifier: dbCluster,
      Engine: "aurora-postgresql",
      MasterUsername: "phiadmin",
      MasterUserPassword: randomUUID(),
    }),
  );
});

const PHI_TAG = [{ Key: "DataClassification", Value: "PHI" }];

const flavours: Flavour[] = [
  {
    type: EBS_SNAPSHOT_TYPE,
    noun: "EBS snapshot",
    missingId: "snap-0000000000000000f",
    create: async () => ebsSnapshotRef(await createEbsSnapshot(ec2), MOTO_ACCOUNT, MOTO_REGION),
    share: async (ref, change, values) =>
      shareEbsSnapshot(
        ec2,
        ref.id,
        change,
        values.filter((v) => v === "all"),
        values.filter((v) => v !== "all"),
      ),
    values: async (ref) => (await ebsPermissions(ec2, ref.id)).map((p) => p.split(":")[1] ?? p).sort(),
  },
  {
    type: DB_SNAPSHOT_TYPE,
    noun: "DB snapshot",
    missingId: "never-taken",
    async create() {
      const id = `phi-snap-${suffix()}`;
      const rds = await moto.clients.rds(MOTO_REGION);
      await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: dbInstance, DBSnapshotIdentifier: id, Tags: PHI_TAG }));
      return dbSnapshotRef(id, MOTO_ACCOUNT, MOTO_REGION);
    },
    async share(ref, change, values) {
      const rds = await moto.clients.rds(MOTO_REGION);
      const edit = change === "add" ? { ValuesToAdd: values } : { ValuesToRemove: values };
      await rds.send(new ModifyDBSnapshotAttributeCommand({ DBSnapshotIdentifier: ref.id, AttributeName: "restore", ...edit }));
    },
    async values(ref) {
      const rds = await moto.clients.rds(MOTO_REGION);
      const response = await rds.send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: ref.id }));
      return [...(response.DBSnapshotAttributesResult?.DBSnapshotAttributes?.[0]?.AttributeValues ?? [])].sort();
    },
  },
  {
    type: DB_CLUSTER_SNAPSHOT_TYPE,
    noun: "DB cluster snapshot",
    missingId: "never-taken",
    async create() {
      const id = `phi-csnap-${suffix()}`;
      const rds = await moto.clients.rds(MOTO_REGION);
      await rds.send(
        new CreateDBClusterSnapshotCommand({ DBClusterIdentifier: dbCluster, DBClusterSnapshotIdentifier: id, Tags: PHI_TAG }),
      );
      return dbClusterSnapshotRef(id, MOTO_ACCOUNT, MOTO_REGION);
    },
    async share(ref, change, values) {
      const rds = await moto.clients.rds(MOTO_REGION);
      const edit = change === "add" ? { ValuesToAdd: values } : { ValuesToRemove: values };
      await rds.send(
        new ModifyDBClusterSnapshotAttributeCommand({ DBClusterSnapshotIdentifier: ref.id, AttributeName: "restore", ...edit }),
      );
    },
    async values(ref) {
      const rds = await moto.clients.rds(MOTO_REGION);
      const response = await rds.send(new DescribeDBClusterSnapshotAttributesCommand({ DBClusterSnapshotIdentifier: ref.id }));
      return [...(response.DBClusterSnapshotAttributesResult?.DBClusterSnapshotAttributes?.[0]?.AttributeValues ?? [])].sort();
    },
  },
];

describe("snapshot-public: identity and triggers", () => {
  it("is registered with its three triggers and exact IAM actions, and has no options", () => {
    expect(controlById("snapshot-public")).toBe(control);
    expect(control).toMatchObject({ category: "public-exposure", severity: "critical" });
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "ec2.amazonaws.com ModifySnapshotAttribute",
      "rds.amazonaws.com ModifyDBSnapshotAttribute",
      "rds.amazonaws.com ModifyDBClusterSnapshotAttribute",
    ]);
    expect(control.permissions.rollback).toEqual([
      "ec2:ModifySnapshotAttribute",
      "rds:ModifyDBSnapshotAttribute",
      "rds:ModifyDBClusterSnapshotAttribute",
    ]);
    expect(control.permissions.detect).toContain("rds:DescribeDBClusterSnapshotAttributes");
    const unknown = control.options.safeParse({ keepAccounts: true });
    expect(unknown.success).toBe(false);
    expect(unknown.error?.issues[0]?.message).toContain("keepAccounts");
  });

  it("names the snapshot of each record shape; RDS identifiers in lower case, also from an ARN or the response", () => {
    expect(resourcesOf(changeEventOf(makePublicRecord("snap-0a1b2c3d4e5f60718")))).toEqual([
      ebsSnapshotRef("snap-0a1b2c3d4e5f60718", MOTO_ACCOUNT, MOTO_REGION),
    ]);
    expect(
      resourcesOf(
        rdsRecord("ModifyDBSnapshotAttribute", { dBSnapshotIdentifier: "Nightly-PHI", attributeName: "restore", valuesToAdd: ["all"] }),
      ),
    ).toEqual([dbSnapshotRef("nightly-phi", MOTO_ACCOUNT, MOTO_REGION)]);
    const byArn = { dBSnapshotIdentifier: `arn:aws:rds:${MOTO_REGION}:${MOTO_ACCOUNT}:snapshot:nightly-phi` };
    expect(resourcesOf(rdsRecord("ModifyDBSnapshotAttribute", byArn)).map((r) => r.id)).toEqual(["nightly-phi"]);
    expect(resourcesOf(rdsRecord("ModifyDBClusterSnapshotAttribute", null, { dBClusterSnapshotIdentifier: "weekly" }))).toEqual([
      dbClusterSnapshotRef("weekly", MOTO_ACCOUNT, MOTO_REGION),
    ]);
    expect(resourcesOf(rdsRecord("ModifyDBSnapshotAttribute", null))).toEqual([]);
    const nullEbs = changeEventOf(cloudTrailRecord({ eventSource: "ec2.amazonaws.com", eventName: "ModifySnapshotAttribute" }));
    expect(resourcesOf(nullEbs)).toEqual([]);
  });
});

describe("snapshot-public: offline detection from the record", () => {
  it("flags an EBS snapshot whose record adds the group all, with the accounts added beside it", async () => {
    const event = changeEventOf(makePublicRecord("snap-0a1b2c3d4e5f60718", [{ group: "all" }, { userId: PARTNER_ACCOUNT }]));
    const [finding, ...rest] = await findingsOffline(event);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      confirmed: false,
      summary: "Snapshot snap-0a1b2c3d4e5f60718 is public: any AWS account can copy or restore it",
      evidence: { current: { public: true, accounts: [PARTNER_ACCOUNT] }, required: { public: false, accounts: [PARTNER_ACCOUNT] } },
    });
  });

  it("does not flag sharing with a named account, another group, or another attribute", async () => {
    expect(await findingsOffline(changeEventOf(makePublicRecord("snap-1", [{ userId: PARTNER_ACCOUNT }])))).toEqual([]);
    expect(await findingsOffline(changeEventOf(makePublicRecord("snap-1", [{ group: "none" }])))).toEqual([]);
    const productCodes = cloudTrailRecord({
      eventSource: "ec2.amazonaws.com",
      eventName: "ModifySnapshotAttribute",
      requestParameters: {
        snapshotId: "snap-1",
        attributeType: "PRODUCT_CODES",
        createVolumePermission: { add: { items: [{ group: "all" }] } },
      },
    });
    expect(await findingsOffline(changeEventOf(productCodes))).toEqual([]);
  });

  it("reads RDS sharing from the response's full attribute list, else from valuesToAdd", async () => {
    const response = {
      dBSnapshotIdentifier: "nightly",
      dBSnapshotAttributes: [{ attributeName: "restore", attributeValues: ["all", PARTNER_ACCOUNT] }],
    };
    const [finding] = await findingsOffline(
      rdsRecord("ModifyDBSnapshotAttribute", { dBSnapshotIdentifier: "nightly", attributeName: "restore", valuesToAdd: ["all"] }, response),
    );
    expect(finding?.evidence.current).toEqual({ public: true, accounts: [PARTNER_ACCOUNT] });
    const cluster = await findingsOffline(
      rdsRecord("ModifyDBClusterSnapshotAttribute", {
        dBClusterSnapshotIdentifier: "weekly",
        attributeName: "restore",
        valuesToAdd: ["all"],
      }),
    );
    expect(cluster.map((f) => [f.resource.type, f.resource.id])).toEqual([[DB_CLUSTER_SNAPSHOT_TYPE, "weekly"]]);
    const named = {
      dBSnapshotIdentifier: "nightly",
      dBSnapshotAttributes: [{ attributeName: "restore", attributeValues: [PARTNER_ACCOUNT] }],
    };
    expect(
      await findingsOffline(
        rdsRecord(
          "ModifyDBSnapshotAttribute",
          { dBSnapshotIdentifier: "nightly", attributeName: "restore", valuesToAdd: [PARTNER_ACCOUNT] },
          named,
        ),
      ),
    ).toEqual([]);
    // The response shows the state after the call: public access already removed again by a later value list.
    const privateAfter = { dBSnapshotIdentifier: "nightly", dBSnapshotAttributes: [{ attributeName: "restore", attributeValues: [] }] };
    expect(
      await findingsOffline(
        rdsRecord(
          "ModifyDBSnapshotAttribute",
          { dBSnapshotIdentifier: "nightly", attributeName: "restore", valuesToAdd: [] },
          privateAfter,
        ),
      ),
    ).toEqual([]);
  });
});

describe.each(flavours)("snapshot-public on moto: $type", (flavour) => {
  async function publicSnapshot() {
    const resource = await flavour.create();
    await flavour.share(resource, "add", [PARTNER_ACCOUNT]);
    await flavour.share(resource, "add", ["all"]);
    return resource;
  }

  it("confirms a public snapshot live, with its tags, and plans to keep the named account", async () => {
    const resource = await publicSnapshot();
    const ctx = live();
    const finding = onlyViolation(await control.detect({ resource }, ctx));
    expect(finding).toMatchObject({
      confirmed: true,
      tags: { DataClassification: "PHI" },
      evidence: { current: { public: true, accounts: [PARTNER_ACCOUNT] } },
    });
    const plan = control.plan(finding, ctx.options);
    expect(plan.summary).toBe(
      `Make ${flavour.noun} ${resource.id} private: remove the public ("all") permission and keep it shared with ${PARTNER_ACCOUNT}.`,
    );
    expect(plan.steps.join(" ")).toContain(`${PARTNER_ACCOUNT} keep access`);
    expect(plan.reversible).toBe(true);
  });

  it("removes public access only, verifies, and rollback makes it public again", async () => {
    const resource = await publicSnapshot();
    const ctx = live();
    const plan = control.plan(onlyViolation(await control.detect({ resource }, ctx)), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: resource.arn, value: { public: true, accounts: [PARTNER_ACCOUNT] } });
    expect(await flavour.values(resource)).toEqual([PARTNER_ACCOUNT]);
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    expect(onlyCleared(await control.detect({ resource }, live()))).toContain(`private, shared with ${PARTNER_ACCOUNT}`);
    await control.rollback(plan, applied.before, ctx);
    expect(await flavour.values(resource)).toEqual([PARTNER_ACCOUNT, "all"].sort());
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false });
  });

  it("a snapshot made private before the event is handled, or deleted, no longer applies", async () => {
    const resource = await publicSnapshot();
    await flavour.share(resource, "remove", ["all"]);
    expect(onlyCleared(await control.detect({ resource }, live()))).toContain("meets the policy");
    const missing = { ...resource, id: flavour.missingId };
    expect(onlyCleared(await control.detect({ resource: missing }, live()))).toContain("no longer exists");
  });
});

describe("snapshot-public: apply after deletion, and sweep", () => {
  it("refuses to apply to a snapshot deleted since detection", async () => {
    const { resource } = await scenario.arrangeViolation(moto);
    const ctx = live();
    const plan = control.plan(onlyViolation(await control.detect({ resource }, ctx)), ctx.options);
    await ec2.send(new DeleteSnapshotCommand({ SnapshotId: resource.id }));
    // Apply reads in the re-check's scope, as executePlan runs it, not through detection's cached reads.
    await expect(control.apply(plan, { ...ctx, reads: ctx.reads.forRecheck() })).rejects.toMatchObject({ name: "ResourceGoneError" });
    const rds = await moto.clients.rds(MOTO_REGION);
    const db = await flavours[1]?.create();
    if (!db) throw new Error("no DB snapshot flavour");
    await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: db.id }));
    expect(onlyCleared(await control.detect({ resource: db }, live()))).toContain("no longer exists");
  });

  it("lists the account's own snapshots of all three kinds once, and finds the public ones", async () => {
    const publicOnes = await Promise.all(
      flavours.map(async (f) => {
        const ref = await f.create();
        await f.share(ref, "add", ["all"]);
        return ref;
      }),
    );
    const privateOne = await flavours[0]?.create();
    const ctx = { ...live(), reads: new ReadCache() };
    const swept: ResourceRef[] = [];
    for await (const ref of control.sweep(ctx)) swept.push(ref);
    expect(swept).toEqual(expect.arrayContaining([...publicOnes, privateOne]));
    // moto lists other owners' public snapshots too; only the account's own are swept.
    expect(swept.every((ref) => ref.account === MOTO_ACCOUNT)).toBe(true);
    const verdicts = (await Promise.all(publicOnes.map((resource) => control.detect({ resource }, ctx)))).flat();
    expect(verdicts.map((v) => v.kind)).toEqual(["violation", "violation", "violation"]);
    const misses = ctx.reads.stats.misses;
    for await (const ref of control.sweep(ctx)) expect(ref.account).toBe(MOTO_ACCOUNT);
    expect(ctx.reads.stats.misses).toBe(misses);
  });
});

describe.runIf(corpusAvailable())("snapshot-public: real corpus records", () => {
  // Only three records make a snapshot public; sharing with a named account (the exfiltration detonations), the
  // group "none" and empty value lists must not be flagged.
  const publicInCorpus = [
    `${EBS_SNAPSHOT_TYPE} snap-00000000000000000`,
    `${EBS_SNAPSHOT_TYPE} snap-1111`,
    `${DB_CLUSTER_SNAPSHOT_TYPE} mysnapshot`,
  ];

  it("flags exactly the records that add the group or value all", async () => {
    const flagged = new Set<string>();
    const named = new Set<string>();
    for (const trigger of control.triggers) {
      const events = corpusEventsFor(trigger);
      expect(events.length, `${trigger.name} records`).toBeGreaterThan(0);
      for (const event of events) {
        for (const ref of resourcesOf(event)) named.add(`${ref.type} ${ref.id}`);
        for (const finding of await findingsOffline(event)) {
          expect(finding.evidence.current).toMatchObject({ public: true });
          flagged.add(`${finding.resource.type} ${finding.resource.id}`);
        }
      }
    }
    expect([...flagged].sort()).toEqual(publicInCorpus.sort());
    expect(named).toEqual(
      new Set([
        ...publicInCorpus,
        `${EBS_SNAPSHOT_TYPE} snap-00f54cf7277498559`,
        `${EBS_SNAPSHOT_TYPE} snap-041993b54a9b3af6f`,
        `${DB_SNAPSHOT_TYPE} exfiltration`,
      ]),
    );
  });
});
