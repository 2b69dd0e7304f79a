import { CreateTableCommand, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoDbRateLimiter, RATE_LIMIT_TABLE_SCHEMA, RateLimitStoreError } from "@hipaa-remediate/core";
import { useMoto } from "../../support/moto";

const moto = useMoto();
const client = new DynamoDBClient(moto.config);
const TABLE = "hipaa-remediate-rate-limit";
const limits = { maxAutoFixes: 3, windowMinutes: 60 };
const WINDOW_START = new Date("2026-06-15T12:00:00Z");
const at = (minutes: number) => new Date(WINDOW_START.getTime() + minutes * 60_000);

function limiter(scope: string, overrides: Partial<typeof limits> = {}): DynamoDbRateLimiter {
  return new DynamoDbRateLimiter({ client, tableName: TABLE, limits: { ...limits, ...overrides }, scope });
}

beforeAll(async () => {
  const { partitionKey } = RATE_LIMIT_TABLE_SCHEMA;
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: partitionKey.name, KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: partitionKey.name, AttributeType: partitionKey.type }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
});

describe("DynamoDbRateLimiter against DynamoDB (moto)", () => {
  it("grants exactly the cap to concurrent engines, and counts what it granted", async () => {
    const engines = [limiter("race"), limiter("race"), limiter("race")];
    const grants = await Promise.all(Array.from({ length: 12 }, (_, i) => engines[i % engines.length]?.tryAcquire(at(i)) ?? false));
    expect(grants.filter(Boolean)).toHaveLength(3);
    expect(await limiter("race").countInWindow(at(59))).toBe(3);
  });

  it("starts a fresh count in the next window", async () => {
    const engine = limiter("windows");
    for (let i = 0; i < 4; i++) await engine.tryAcquire(at(i));
    expect(await engine.tryAcquire(at(59))).toBe(false);
    expect(await engine.countInWindow(at(60))).toBe(0);
    expect(await engine.tryAcquire(at(60))).toBe(true);
    expect(await engine.countInWindow(at(61))).toBe(1);
  });

  it("stores one item per window, with a TTL so finished windows are deleted", async () => {
    await limiter("ttl").tryAcquire(at(5));
    const key = `rate-limit#ttl#60m#${WINDOW_START.toISOString()}`;
    const item = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { [RATE_LIMIT_TABLE_SCHEMA.partitionKey.name]: { S: key } }, ConsistentRead: true }),
    );
    expect(item.Item).toEqual({
      pk: { S: key },
      count: { N: "1" },
      windowStart: { S: WINDOW_START.toISOString() },
      // The window ends at 13:00; the item is kept one more window, until 14:00.
      [RATE_LIMIT_TABLE_SCHEMA.timeToLiveAttribute]: { N: String(Date.parse("2026-06-15T14:00:00Z") / 1000) },
    });
  });

  it("keeps scopes apart in one table", async () => {
    await limiter("stage-a").tryAcquire(at(1));
    expect(await limiter("stage-b").countInWindow(at(1))).toBe(0);
    expect(await limiter("stage-a").countInWindow(at(1))).toBe(1);
  });

  it("a cap of 0 grants nothing", async () => {
    expect(await limiter("zero", { maxAutoFixes: 0 }).tryAcquire(at(1))).toBe(false);
    expect(await limiter("zero").countInWindow(at(1))).toBe(0);
  });

  it("reports a store failure as a RateLimitStoreError that keeps the cause", async () => {
    const missing = new DynamoDbRateLimiter({ client, tableName: "no-such-table", limits });
    const error = await missing.tryAcquire(at(1)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitStoreError);
    expect((error as RateLimitStoreError).cause).toMatchObject({ name: "ResourceNotFoundException" });
    await expect(missing.countInWindow(at(1))).rejects.toBeInstanceOf(RateLimitStoreError);
  });
});
