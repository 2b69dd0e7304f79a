import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { IdempotencyAlreadyInProgressError } from "@aws-lambda-powertools/idempotency";
import { DynamoDbIdempotencyStore, powertoolsGuard } from "@hipaa-remediate/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countDynamoDbCalls } from "../../support/deployed-engine";
import { createIdempotencyTable } from "../../support/deployed-tables";
import { useMoto } from "../../support/moto";

const moto = useMoto();
const TABLE = "idempotency-store-test";
let client: DynamoDBClient;

beforeAll(async () => {
  client = new DynamoDBClient(moto.config);
  await createIdempotencyTable(client, TABLE);
});
afterAll(() => client.destroy());

/** Every record in the table (Powertools keys them by a hash of the payload, so they are found by scanning). */
async function storedRecords() {
  const { Items = [] } = await client.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));
  return Items;
}

describe("DynamoDbIdempotencyStore (Powertools' DynamoDB layer, completing a record with one put)", () => {
  it("completes a record with a PutItem that Powertools reads back as done, and never sends an UpdateItem", async () => {
    const calls = countDynamoDbCalls(client);
    const guard = powertoolsGuard(new DynamoDbIdempotencyStore({ client, tableName: TABLE }));
    let runs = 0;
    const work = async () => {
      runs += 1;
      return { findings: [{ control: "s3-bucket-default-encryption", status: "verified" }] };
    };

    await expect(guard.once("event-1|control|arn", work)).resolves.toEqual({
      replayed: false,
      result: { findings: [{ control: "s3-bucket-default-encryption", status: "verified" }] },
    });
    // The in-progress put, then the completing put.
    expect(calls.byTable()[TABLE]).toEqual({ PutItem: 2 });

    const records = await storedRecords();
    expect(records).toHaveLength(1);
    const [item] = records;
    expect(item?.status).toEqual({ S: "COMPLETED" });
    expect(item?.data).toEqual({
      M: {
        replayed: { BOOL: false },
        result: { M: { findings: { L: [{ M: { control: { S: "s3-bucket-default-encryption" }, status: { S: "verified" } } }] } } },
      },
    });
    expect(Number(item?.expiration?.N)).toBeGreaterThan(Date.now() / 1000);
    // The in-progress deadline means nothing once the record is complete.
    expect(item?.in_progress_expiration).toBeUndefined();

    // A redelivery is turned away by the completed record: the work does not run again.
    calls.reset();
    await expect(guard.once("event-1|control|arn", work)).resolves.toMatchObject({ replayed: true });
    expect(runs).toBe(1);
    expect(calls.byTable()[TABLE]?.UpdateItem).toBeUndefined();
  });

  it("keeps Powertools' rules for a record in progress and for failed work", async () => {
    const guard = powertoolsGuard(new DynamoDbIdempotencyStore({ client, tableName: TABLE }));
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = guard.once("event-2|control|arn", async () => {
      await held;
      return { findings: [] };
    });
    // Another delivery while the first is at work is refused, not run.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(guard.once("event-2|control|arn", async () => ({ findings: [] }))).rejects.toBeInstanceOf(
      IdempotencyAlreadyInProgressError,
    );
    release();
    await expect(first).resolves.toMatchObject({ replayed: false });

    // Work that fails leaves no record, so that a retry runs it again.
    await expect(
      guard.once("event-3|control|arn", async () => {
        throw new Error("detection failed");
      }),
    ).rejects.toThrow("detection failed");
    await expect(guard.once("event-3|control|arn", async () => ({ findings: [] }))).resolves.toMatchObject({ replayed: false });
  });
});
