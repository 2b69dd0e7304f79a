import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteItemCommand, DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AnchorStoreError,
  ArchiveContinuityError,
  createLogTable,
  DynamoDbLogStore,
  openDatabase,
  readExportFiles,
  S3AnchorStore,
  S3LogArchive,
  silentLogger,
  SqliteLogStore,
  verifyChain,
  type LogEntry,
} from "@hipaa-remediate/core";
import { createLogAnchorHandler } from "../../../packages/functions/src/log-anchor";
import { createLogExportHandler } from "../../../packages/functions/src/log-export";
import { appendSamples } from "../../support/log-drafts";
import { MOTO_REGION, useMoto } from "../../support/moto";

/*
 * The deployed audit trail on moto: the Object Lock bucket, the scheduled anchor and export handlers, tampering
 * with the DynamoDB log, and a restore verified against the anchors.
 *
 * What moto enforces (5.2.5): the bucket default retention is applied to each new object version, an upload
 * without Content-MD5 is refused, and deleting a locked version (DeleteObject with VersionId) is refused with
 * AccessDenied. What it does not: PutObjectRetention may shorten a COMPLIANCE retention, and the DynamoDB resource
 * policy is not evaluated (the infra tests assert it on the template).
 */
const moto = useMoto();
const s3 = await moto.clients.s3(MOTO_REGION);
const RETENTION_DAYS = 2190;
let dynamodb: DynamoDBClient;
let buckets = 0;
let tables = 0;

beforeAll(() => {
  dynamodb = new DynamoDBClient(moto.config);
});

async function lockedBucket(): Promise<string> {
  buckets += 1;
  const bucket = `audit-archive-${buckets}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  await s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: RETENTION_DAYS } } },
    }),
  );
  return bucket;
}

async function logWith(entries: number): Promise<{ store: DynamoDbLogStore; tableName: string; appended: LogEntry[] }> {
  tables += 1;
  const tableName = `audit-log-${tables}`;
  await createLogTable(dynamodb, tableName);
  const store = new DynamoDbLogStore({ client: dynamodb, tableName });
  return { store, tableName, appended: await appendSamples(store, entries) };
}

function anchorHandler(store: DynamoDbLogStore, bucket: string, now: Date) {
  return createLogAnchorHandler(async () => ({
    log: store,
    anchors: new S3AnchorStore({ client: s3, bucket }),
    now: () => now,
    logger: silentLogger,
  }));
}

function exportHandler(store: DynamoDbLogStore, bucket: string, entriesPerObject = 4) {
  return createLogExportHandler(async () => ({
    log: store,
    archive: new S3LogArchive({ client: s3, bucket, entriesPerObject }),
    logger: silentLogger,
  }));
}

/** Object Lock buckets refuse uploads without an integrity header (moto enforces this too). */
function withMd5(input: { Bucket: string; Key: string; Body: string }) {
  return { ...input, ContentMD5: createHash("md5").update(input.Body).digest("base64") };
}

const key = (_tableName: string, seq: number) => ({ chain: { S: "remediation-log" }, seq: { N: String(seq) } });

describe("S3 anchors in an Object Lock bucket", () => {
  it("publishes the head under compliance retention and lists it back from the keys", async () => {
    const bucket = await lockedBucket();
    const { store, appended } = await logWith(5);
    const anchor = await anchorHandler(store, bucket, new Date("2026-03-01T00:00:00Z"))();
    expect(anchor).toEqual({ seq: 5, hash: appended[4]?.hash, at: "2026-03-01T00:00:00.000Z" });

    const objectKey = `anchors/remediation-log/0000000000000005-${appended[4]?.hash}.json`;
    // moto's GetObjectRetention answer does not parse in SDK v3; HeadObject carries the same lock headers.
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }));
    expect(head.ObjectLockMode).toBe("COMPLIANCE");
    const days = ((head.ObjectLockRetainUntilDate?.getTime() ?? 0) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(RETENTION_DAYS);

    const listed = await new S3AnchorStore({ client: s3, bucket }).list();
    expect(listed).toEqual([{ seq: 5, hash: appended[4]?.hash, at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
  });

  it("cannot lose an anchor: a locked version refuses deletion, and neither a delete marker nor a forged overwrite hides it", async () => {
    const bucket = await lockedBucket();
    const { store, appended } = await logWith(3);
    await anchorHandler(store, bucket, new Date())();
    const objectKey = `anchors/remediation-log/0000000000000003-${appended[2]?.hash}.json`;
    const [version] = (await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: objectKey }))).Versions ?? [];
    await expect(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey, VersionId: version?.VersionId }))).rejects.toMatchObject(
      {
        name: "AccessDenied",
      },
    );
    // Without a version id S3 only adds a delete marker; a newer version with another body is just another version.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey }));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "anchors/" }))).KeyCount).toBe(0);
    await s3.send(new PutObjectCommand(withMd5({ Bucket: bucket, Key: objectKey, Body: '{"seq":1,"hash":"forged"}' })));
    const listed = await new S3AnchorStore({ client: s3, bucket }).list();
    expect(listed.map((a) => [a.seq, a.hash])).toEqual([
      [3, appended[2]?.hash],
      [3, appended[2]?.hash],
    ]);
  });

  it("refuses a bucket holding something under anchors/ that is not an anchor", async () => {
    const bucket = await lockedBucket();
    await s3.send(new PutObjectCommand(withMd5({ Bucket: bucket, Key: "anchors/remediation-log/latest.json", Body: "{}" })));
    await expect(new S3AnchorStore({ client: s3, bucket }).list()).rejects.toThrow(
      new AnchorStoreError(
        `s3://${bucket}/anchors/remediation-log/latest.json is not an anchor (expected anchors/remediation-log/<16-digit seq>-<sha256>.json): only the anchor publisher may write under anchors/remediation-log/`,
      ),
    );
  });
});

describe("tampering with the DynamoDB log, caught against the S3 anchors", () => {
  it("a truncated tail: the newest items deleted", async () => {
    const bucket = await lockedBucket();
    const { store, tableName } = await logWith(6);
    await anchorHandler(store, bucket, new Date("2026-03-01T00:00:00Z"))();
    for (const seq of [5, 6]) await dynamodb.send(new DeleteItemCommand({ TableName: tableName, Key: key(tableName, seq) }));
    const anchors = await new S3AnchorStore({ client: s3, bucket }).list();
    expect(await verifyChain(store.read())).toMatchObject({ ok: true, checked: 4 });
    expect(await verifyChain(store.read(), { anchors })).toMatchObject({
      ok: false,
      checked: 4,
      firstBad: { seq: 6, problem: "missing", anchor: { seq: 6 } },
    });
  });

  it("an index attribute edited outside the entry: the byEvent index's eventId, and the hash attribute", async () => {
    const bucket = await lockedBucket();
    const { store, tableName } = await logWith(6);
    await anchorHandler(store, bucket, new Date())();
    const anchors = await new S3AnchorStore({ client: s3, bucket }).list();
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key(tableName, 3),
        UpdateExpression: "SET eventId = :e",
        ExpressionAttributeValues: { ":e": { S: "event-other" } },
      }),
    );
    const report = await verifyChain(store.read(), { anchors });
    expect(report).toMatchObject({ ok: false, checked: 2, firstBad: { seq: 3, problem: "edited" } });
    expect(report.firstBad?.detail).toContain('the stored event id column "event-other" is not the entry\'s event id "event-3"');

    await dynamodb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: key(tableName, 3),
        UpdateExpression: "SET eventId = :e, #h = :h",
        ExpressionAttributeNames: { "#h": "hash" },
        ExpressionAttributeValues: { ":e": { S: "event-3" }, ":h": { S: "0".repeat(64) } },
      }),
    );
    expect((await verifyChain(store.read(), { anchors })).firstBad?.detail).toContain("the stored hash column");
  });
});

describe("the scheduled export and a restore", () => {
  it("exports only new entries, as locked JSON lines objects named by their seq range", async () => {
    const bucket = await lockedBucket();
    const { store, appended } = await logWith(6);
    const first = await exportHandler(store, bucket)();
    expect(first).toMatchObject({
      exported: 6,
      keys: [
        expect.stringMatching(/^exports\/remediation-log\/0{15}1-0{15}4-[0-9a-f]{64}\.jsonl$/),
        expect.stringMatching(/0{15}5-0{15}6-/),
      ],
    });
    expect(await exportHandler(store, bucket)()).toEqual({ since: { seq: 6, hash: appended[5]?.hash }, exported: 0, keys: [] });
    await appendSamples(store, 2, 7);
    const third = await exportHandler(store, bucket)();
    expect(third).toMatchObject({ since: { seq: 6 }, exported: 2 });
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: third.keys[0] }))).ObjectLockMode).toBe("COMPLIANCE");
  });

  it("stops, exporting nothing, when the last exported entry was changed in the table since", async () => {
    const bucket = await lockedBucket();
    const { store, tableName } = await logWith(4);
    await exportHandler(store, bucket)();
    await dynamodb.send(new DeleteItemCommand({ TableName: tableName, Key: key(tableName, 4) }));
    await appendSamples(store, 2, 10);
    await expect(exportHandler(store, bucket)()).rejects.toThrow(ArchiveContinuityError);
    // The store remembers the head it wrote (seq 4), so the two new entries are seq 5 and 6: seq 4 is simply gone.
    await expect(exportHandler(store, bucket)()).rejects.toThrow(
      /seq 4 hashing to [0-9a-f]{64}, but the log has no seq 4 \(the next entry is seq 5\): the log was changed after it was exported; nothing new was exported/,
    );
  });

  it("rebuilds the log from the exports, and the copy verifies against the anchors; a tampered copy does not", async () => {
    const bucket = await lockedBucket();
    const { store, appended } = await logWith(9);
    await exportHandler(store, bucket)();
    await anchorHandler(store, bucket, new Date())();
    const anchors = await new S3AnchorStore({ client: s3, bucket }).list();

    // As an auditor would: download every export object, then restore from the folder.
    const folder = mkdtempSync(join(tmpdir(), "hipaa-restore-"));
    const keys = (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "exports/" }))).Contents?.map((o) => o.Key ?? "") ?? [];
    expect(keys).toHaveLength(3);
    for (const objectKey of keys) {
      const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }))).Body?.transformToString();
      writeFileSync(join(folder, objectKey.split("/").at(-1) ?? "export.jsonl"), body ?? "");
    }
    const restored = new SqliteLogStore(openDatabase(":memory:"));
    expect(await restored.restore(readExportFiles([folder]))).toEqual({ restored: 9, duplicates: 0 });
    expect(await verifyChain(restored.read(), { anchors })).toMatchObject({
      ok: true,
      checked: 9,
      head: { seq: 9, hash: appended[8]?.hash },
      anchors: { total: 1, matched: 1 },
    });

    // A copy missing its newest entry is still a consistent chain; the anchor says seq 9 existed.
    const truncated = new SqliteLogStore(openDatabase(":memory:"));
    await truncated.restore(
      (async function* () {
        for await (const entry of readExportFiles([folder])) if (entry.seq < 9) yield entry;
      })(),
    );
    expect(await verifyChain(truncated.read(), { anchors })).toMatchObject({
      ok: false,
      checked: 8,
      firstBad: { seq: 9, problem: "missing" },
    });
  });
});
