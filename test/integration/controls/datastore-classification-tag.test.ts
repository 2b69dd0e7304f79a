import { DeleteBucketCommand } from "@aws-sdk/client-s3";
import { DeleteTableCommand, ListTagsOfResourceCommand } from "@aws-sdk/client-dynamodb";
import { ListTagsForResourceCommand } from "@aws-sdk/client-rds";
import { DescribeVolumesCommand } from "@aws-sdk/client-ec2";
import type { ChangeEvent, Verdict } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { control } from "../../../remediations/datastore-classification-tag";
import { bucketRef } from "../../../remediations/lib/arn";
import { tableRef } from "../../../remediations/lib/dynamodb";
import { volumeRef } from "../../../remediations/lib/ebs-volumes";
import { dbInstanceRef } from "../../../remediations/lib/rds";
import { bucketTags } from "../../../remediations/lib/s3-buckets";
import { tagMap } from "../../../remediations/lib/tags";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { detectEvent, triggerNamed } from "../../support/control-checks";
import { TEST_NOW, changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusEventsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { createDbInstance } from "../../support/rds";
import { createTestBucket } from "../../support/s3-buckets";
import { createTable } from "./scenarios/dynamodb-point-in-time-recovery";
import { DEFAULT_CLASSIFICATION, TEAM_TAG } from "./scenarios/datastore-classification-tag";
import { createPlainVolume } from "./scenarios/ebs-volume-encrypted";

const moto = useMoto();
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = (options: Record<string, unknown> = {}) => offlineContext(moto, control, options);
const TAGGING = { tagUnclassified: DEFAULT_CLASSIFICATION };
/** An hour before the test clock: older than any settle time. */
const SETTLED = new Date(TEST_NOW.getTime() - 3_600_000);

function creation(
  source: string,
  name: string,
  request: Record<string, unknown> | null,
  response: Record<string, unknown> | null = null,
  at = SETTLED,
): ChangeEvent {
  return changeEventOf(
    cloudTrailRecord({ eventSource: source, eventName: name, requestParameters: request, responseElements: response, eventTime: at }),
  );
}
const bucketEvent = (bucket: string, extra: Record<string, unknown> = {}, at = SETTLED) =>
  creation("s3.amazonaws.com", "CreateBucket", { bucketName: bucket, ...extra }, null, at);

function onlyRecheck(verdicts: Verdict[]) {
  expect(verdicts).toHaveLength(1);
  const [verdict] = verdicts;
  if (verdict?.kind !== "recheck-later") throw new Error(`expected recheck-later, got ${JSON.stringify(verdicts)}`);
  return verdict;
}

describe("datastore-classification-tag: identity, options and triggers", () => {
  it("is registered as a tagging control with exact IAM actions", () => {
    expect(controlById("datastore-classification-tag")).toBe(control);
    expect(control.category).toBe("tagging");
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "s3.amazonaws.com CreateBucket",
      "rds.amazonaws.com CreateDBInstance",
      "dynamodb.amazonaws.com CreateTable",
      "ec2.amazonaws.com CreateVolume",
    ]);
    for (const action of [...control.permissions.detect, ...control.permissions.apply, ...control.permissions.rollback]) {
      expect(action).toMatch(/^[a-z0-9]+:[A-Za-z]+$/);
    }
    expect(control.permissions.apply).toContain("s3:PutBucketTagging");
  });

  it("defaults to notify-only after a 120 s settle time, and names a bad option", () => {
    expect(control.options.parse(undefined)).toEqual({ settleSeconds: 120 });
    expect(control.options.safeParse({ settleSeconds: 901 }).error?.issues[0]?.path).toEqual(["settleSeconds"]);
    expect(control.options.safeParse({ tagUnclassified: { key: "", value: "PHI" } }).error?.issues[0]?.path).toEqual([
      "tagUnclassified",
      "key",
    ]);
    expect(control.options.safeParse({ classificationKeys: [] }).error?.issues[0]?.path).toEqual(["classificationKeys"]);
  });

  it("reads each store from its request shape, and nothing from null parameters", () => {
    expect(triggerNamed(control, "CreateBucket").resources(bucketEvent("b1"))).toEqual([bucketRef("b1", MOTO_ACCOUNT, MOTO_REGION)]);
    expect(
      triggerNamed(control, "CreateDBInstance").resources(
        creation("rds.amazonaws.com", "CreateDBInstance", { dBInstanceIdentifier: "Db1" }),
      ),
    ).toEqual([dbInstanceRef("db1", MOTO_ACCOUNT, MOTO_REGION)]);
    expect(triggerNamed(control, "CreateTable").resources(creation("dynamodb.amazonaws.com", "CreateTable", { tableName: "t1" }))).toEqual([
      tableRef("t1", MOTO_ACCOUNT, MOTO_REGION),
    ]);
    expect(
      triggerNamed(control, "CreateVolume").resources(creation("ec2.amazonaws.com", "CreateVolume", null, { volumeId: "vol-0abc" })),
    ).toEqual([volumeRef("vol-0abc", MOTO_ACCOUNT, MOTO_REGION)]);
    for (const trigger of control.triggers) expect(trigger.resources(creation(trigger.source, trigger.name, null))).toEqual([]);
  });
});

describe("datastore-classification-tag: offline detection (the event's own tags)", () => {
  it("flags stores created without a classification tag, unconfirmed", async () => {
    const finding = onlyViolation(await detectEvent(control, bucketEvent("off-1"), offline()));
    expect(finding).toMatchObject({
      confirmed: false,
      summary: "Bucket off-1 carries no data-classification tag (DataClassification, PHI)",
    });
    onlyViolation(
      await detectEvent(
        control,
        creation("dynamodb.amazonaws.com", "CreateTable", { tableName: "t", tags: [{ key: "Team", value: "x" }] }),
        offline(),
      ),
    );
  });

  it("accepts a classification in each request shape, whatever its value", async () => {
    const s3Tags = { CreateBucketConfiguration: { Tags: { Tag: { Key: "DataClassification", Value: "Public" } } } };
    expect(onlyCleared(await detectEvent(control, bucketEvent("off-2", s3Tags), offline()))).toBe(
      "off-2 is created with DataClassification=Public",
    );
    const rds = creation("rds.amazonaws.com", "CreateDBInstance", { dBInstanceIdentifier: "db2", tags: [{ key: "PHI", value: "false" }] });
    onlyCleared(await detectEvent(control, rds, offline()));
    const volume = creation(
      "ec2.amazonaws.com",
      "CreateVolume",
      {
        tagSpecificationSet: { items: [{ resourceType: "volume", tags: [{ key: "dataclassification", value: "Internal" }] }] },
      },
      { volumeId: "vol-0def" },
    );
    onlyCleared(await detectEvent(control, volume, offline()));
  });

  it("uses the control's own classification keys when set", async () => {
    const tagged = bucketEvent("off-3", { CreateBucketConfiguration: { Tags: { Tag: [{ Key: "Sensitivity", Value: "High" }] } } });
    onlyViolation(await detectEvent(control, tagged, offline()));
    onlyCleared(await detectEvent(control, tagged, offline({ classificationKeys: ["Sensitivity"] })));
  });
});

describe("datastore-classification-tag: live detection on moto", () => {
  it("asks to look again while the creation is younger than settleSeconds, then decides", async () => {
    const ref = await createTestBucket(await moto.clients.s3(MOTO_REGION), "classify-young", [TEAM_TAG]);
    const young = bucketEvent(ref.id, {}, new Date(TEST_NOW.getTime() - 30_000));
    const recheck = onlyRecheck(await detectEvent(control, young, context()));
    expect(recheck.afterSeconds).toBe(90);
    expect(recheck.finding).toMatchObject({ confirmed: true, tags: { Team: "claims" }, resource: ref });
    const finding = onlyViolation(await detectEvent(control, young, context({ settleSeconds: 0 })));
    expect(finding.evidence).toEqual({ classificationKeys: ["DataClassification", "PHI"], tagKeys: ["Team"], tagsFrom: "live" });
    onlyViolation(await control.detect({ resource: ref }, context()));
  });

  it("no longer applies once classified, or when gone (each store type)", async () => {
    const s3 = await moto.clients.s3(MOTO_REGION);
    const bucket = await createTestBucket(s3, "classify-tagged", [{ Key: "PHI", Value: "true" }]);
    expect(onlyCleared(await detectEvent(control, bucketEvent(bucket.id), context()))).toBe("classify-tagged is classified (PHI=true)");
    const gone = await createTestBucket(s3, "classify-gone");
    await s3.send(new DeleteBucketCommand({ Bucket: gone.id }));
    expect(onlyCleared(await control.detect({ resource: gone }, context()))).toBe("bucket classify-gone no longer exists");

    const db = await createDbInstance(moto, "classify-db", { tags: { DataClassification: "PHI" } });
    onlyCleared(await control.detect({ resource: db }, context()));
    onlyCleared(await control.detect({ resource: dbInstanceRef("classify-missing", MOTO_ACCOUNT, MOTO_REGION) }, context()));

    const table = await createTable(moto, "classify-table");
    onlyViolation(await control.detect({ resource: table }, context()));
    await (await moto.clients.dynamodb(MOTO_REGION)).send(new DeleteTableCommand({ TableName: table.id }));
    onlyCleared(await control.detect({ resource: table }, context()));

    const volume = await createPlainVolume(await moto.clients.ec2(MOTO_REGION));
    const volumeResource = volumeRef(volume.VolumeId, MOTO_ACCOUNT, MOTO_REGION);
    onlyViolation(await control.detect({ resource: volumeResource }, context()));
  });
});

describe("datastore-classification-tag: plan, apply, verify, rollback on moto", () => {
  it("is notify-only by default", async () => {
    const ref = await createTestBucket(await moto.clients.s3(MOTO_REGION), "classify-notify");
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, context())), control.options.parse({}));
    expect(plan).toMatchObject({ notifyOnly: true, reversible: false, params: { tag: null } });
    await expect(control.apply(plan, context())).rejects.toMatchObject({ name: "NotifyOnlyPlanError" });
  });

  it("adds the default tag to a bucket's whole set and restores the set exactly on rollback", async () => {
    const s3 = await moto.clients.s3(MOTO_REGION);
    const ref = await createTestBucket(s3, "classify-apply", [TEAM_TAG, { Key: "CostCenter", Value: "42" }]);
    const ctx = context(TAGGING);
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    expect(plan.summary).toBe(
      "Tag bucket classify-apply DataClassification=PHI, so every PHI safeguard applies until its owner classifies it",
    );
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ bucketTags: { Team: "claims", CostCenter: "42" }, previousValue: null });
    expect(await bucketTags(s3, ref.id)).toEqual({ Team: "claims", CostCenter: "42", DataClassification: "PHI" });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
    await control.rollback(plan, applied.before, ctx);
    expect(await bucketTags(s3, ref.id)).toEqual({ Team: "claims", CostCenter: "42" });
  });

  it("rolls an untagged bucket back to no tag set at all", async () => {
    const s3 = await moto.clients.s3(MOTO_REGION);
    const ref = await createTestBucket(s3, "classify-bare");
    const ctx = context(TAGGING);
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    const applied = await control.apply(plan, ctx);
    await control.rollback(plan, applied.before, ctx);
    expect(await bucketTags(s3, ref.id)).toEqual({});
  });

  it("tags and untags a DB instance, a table and a volume, removing exactly the added tag", async () => {
    const ctx = context(TAGGING);
    const db = await createDbInstance(moto, "classify-apply-db", { tags: { Team: "claims" } });
    const table = await createTable(moto, "classify-apply-table", { Team: "claims" });
    const volume = volumeRef(
      (await createPlainVolume(await moto.clients.ec2(MOTO_REGION), { Team: "claims" })).VolumeId,
      MOTO_ACCOUNT,
      MOTO_REGION,
    );
    const rds = await moto.clients.rds(MOTO_REGION);
    const dynamodb = await moto.clients.dynamodb(MOTO_REGION);
    const readers = {
      db: async () => tagMap((await rds.send(new ListTagsForResourceCommand({ ResourceName: db.arn }))).TagList),
      table: async () => tagMap((await dynamodb.send(new ListTagsOfResourceCommand({ ResourceArn: table.arn }))).Tags),
      volume: async () =>
        tagMap(
          (await (await moto.clients.ec2(MOTO_REGION)).send(new DescribeVolumesCommand({ VolumeIds: [volume.id] }))).Volumes?.[0]?.Tags,
        ),
    };
    for (const [ref, read] of [
      [db, readers.db],
      [table, readers.table],
      [volume, readers.volume],
    ] as const) {
      const before = await read();
      const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
      const applied = await control.apply(plan, ctx);
      expect(applied.before).toEqual({ previousValue: null });
      expect(await read()).toEqual({ ...before, DataClassification: "PHI" });
      expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });
      await control.rollback(plan, applied.before, ctx);
      expect(await read()).toEqual(before);
    }
  });
});

describe("datastore-classification-tag: sweep", () => {
  it("lists buckets, DB instances, tables and volumes", async () => {
    const bucket = await createTestBucket(await moto.clients.s3(MOTO_REGION), "classify-sweep");
    const table = await createTable(moto, "classify-sweep-table");
    const ids: string[] = [];
    for await (const ref of control.sweep(context())) ids.push(ref.id);
    expect(ids).toEqual(expect.arrayContaining([bucket.id, table.id, "classify-db"]));
    expect(ids.some((id) => id.startsWith("vol-"))).toBe(true);
  });
});

describe("datastore-classification-tag: corpus", () => {
  it("finds the created store of each real CreateBucket, CreateDBInstance, CreateTable and CreateVolume record offline", async () => {
    for (const trigger of control.triggers) {
      for (const event of corpusEventsFor(trigger)) {
        const resources = trigger.resources(event);
        for (const resource of resources) {
          const verdicts = await control.detect({ resource, event }, offline());
          expect(verdicts).toHaveLength(1);
          expect(["violation", "no-longer-applies"]).toContain(verdicts[0]?.kind);
          expect(resource.id.length).toBeGreaterThan(0);
        }
      }
    }
  });
});
