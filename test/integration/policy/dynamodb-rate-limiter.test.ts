import { Agent } from "node:http";
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoDbRateLimiter, MAX_SLIDING_WINDOW_CAP, RATE_LIMIT_TABLE_SCHEMA, RateLimitStoreError } from "@hipaa-remediate/core";
import { createRateLimitTable } from "../../support/deployed-tables";
import { useMoto } from "../../support/moto";
import { burst, busiestWindow, grantedTimes } from "../../support/rate-limit-burst";

const moto = useMoto();
const TABLE = "hipaa-remediate-rate-limit";
const limits = { maxAutoFixes: 3, windowMinutes: 60 };
const WINDOW_MS = limits.windowMinutes * 60_000;
const T0 = new Date("2026-06-15T12:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

/**
 * moto evaluates a condition and applies the write without a lock across its request threads, so two truly
 * simultaneous conditional writes can both pass (DESIGN.md, moto quirks); DynamoDB applies them atomically per item.
 * Every client here shares one connection, so moto sees the calls one at a time, in some order, as DynamoDB would
 * order them; the engines still race, each judged by its ConditionExpression alone.
 */
const oneConnectionToMoto = new Agent({ keepAlive: true, maxSockets: 1 });
const newClient = () => new DynamoDBClient({ ...moto.config, requestHandler: { httpAgent: oneConnectionToMoto } });
const client = newClient();

/** A client counting the conditional writes DynamoDB refused: proof the engines really raced for the same log. */
function countingClient(): { client: DynamoDBClient; refusedWrites: () => number } {
  const counted = newClient();
  let refused = 0;
  counted.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof Error && error.name === "ConditionalCheckFailedException") refused++;
        throw error;
      }
    },
    { step: "initialize", name: "countRefusedWrites" },
  );
  return { client: counted, refusedWrites: () => refused };
}

function limiter(scope: string, overrides: Partial<typeof limits> = {}, on: DynamoDBClient = client): DynamoDbRateLimiter {
  return new DynamoDbRateLimiter({ client: on, tableName: TABLE, limits: { ...limits, ...overrides }, scope });
}

beforeAll(async () => {
  await createRateLimitTable(client, TABLE);
});

describe("DynamoDbRateLimiter against DynamoDB (moto)", () => {
  it("grants exactly the cap to engines racing from the same read of the log", async () => {
    const racers = Array.from({ length: 6 }, () => countingClient());
    const engines = racers.map((racer) => limiter("race", {}, racer.client));
    // Every engine reads the empty log first, so every first write is conditioned on the same state.
    for (const engine of engines) expect(await engine.countInWindow(at(0))).toBe(0);
    const grants = await Promise.all(engines.flatMap((engine, i) => [engine.tryAcquire(at(i)), engine.tryAcquire(at(i))]));
    expect(grants.filter(Boolean)).toHaveLength(3);
    expect(await limiter("race").countInWindow(at(30))).toBe(3);
    // The losers of each round were refused by the condition, re-read the log and decided again.
    expect(racers.reduce((sum, racer) => sum + racer.refusedWrites(), 0)).toBeGreaterThan(0);
  });

  it("a burst across a fixed-window boundary gets at most the cap in any window length", async () => {
    const engine = limiter("boundary");
    // Three fixes just before 13:00 and a burst just after: a fixed window would grant three more at 13:00.
    const attempts = [...burst(at(59), 3), ...burst(at(60), 5), ...burst(at(90), 3), ...burst(at(119), 3), ...burst(at(120), 3)];
    const granted = await grantedTimes(engine, attempts);
    expect(busiestWindow(granted, WINDOW_MS)).toBe(3);
    expect(granted).toEqual([...burst(at(59), 3), ...burst(at(119), 3)].map((d) => d.getTime()));
  });

  it("frees a slot once its fix is older than the window", async () => {
    const engine = limiter("sliding");
    for (const minute of [0, 20, 40]) expect(await engine.tryAcquire(at(minute))).toBe(true);
    expect(await engine.tryAcquire(at(59))).toBe(false);
    // At exactly 13:00 the 12:00 fix has left the window.
    expect(await engine.countInWindow(at(60))).toBe(2);
    expect(await engine.tryAcquire(at(60))).toBe(true);
    expect(await engine.tryAcquire(at(61))).toBe(false);
    expect(await engine.countInWindow(at(101))).toBe(1);
  });

  it("a warm engine starts from the log it wrote, and reads again when another engine wrote since", async () => {
    const warm = countingClient();
    const engine = limiter("warm", {}, warm.client);
    const other = limiter("warm");
    expect(await engine.tryAcquire(at(0))).toBe(true);
    expect(await other.tryAcquire(at(1))).toBe(true);
    // The log the warm engine remembers misses the other fix: its put is refused, it reads and writes on the new log.
    expect(await engine.tryAcquire(at(2))).toBe(true);
    expect(warm.refusedWrites()).toBe(1);
    // The other engine remembers a log with room; the store's log is full, so its put is refused and it refuses.
    expect(await other.tryAcquire(at(3))).toBe(false);
    expect(await limiter("warm").countInWindow(at(3))).toBe(3);
  });

  it("reads again before refusing on a remembered full window, which may have been reset since", async () => {
    const engine = limiter("reset");
    for (const minute of [0, 1, 2]) expect(await engine.tryAcquire(at(minute))).toBe(true);
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: "rate-limit#reset#sliding#60m" } } }));
    expect(await engine.countInWindow(at(3))).toBe(0);
    expect(await engine.tryAcquire(at(3))).toBe(true);
  });

  it("keeps the window's fixes in one item, with a TTL past the last of them", async () => {
    await limiter("ttl").tryAcquire(at(5));
    const key = "rate-limit#ttl#sliding#60m";
    const item = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { [RATE_LIMIT_TABLE_SCHEMA.partitionKey.name]: { S: key } }, ConsistentRead: true }),
    );
    expect(item.Item).toEqual({
      pk: { S: key },
      grants: { L: [{ N: String(at(5).getTime()) }] },
      version: { S: expect.stringMatching(/^[0-9a-f-]{36}$/) },
      // The fix leaves the window at 13:05; the item is kept one more window, until 14:05.
      [RATE_LIMIT_TABLE_SCHEMA.timeToLiveAttribute]: { N: String(Date.parse("2026-06-15T14:05:00Z") / 1000) },
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

  it("refuses a cap the one-item log cannot hold, naming the limit", () => {
    expect(() => limiter("huge", { maxAutoFixes: MAX_SLIDING_WINDOW_CAP + 1 })).toThrow(/supports at most 10000/);
  });

  it("names a damaged item instead of guessing a count", async () => {
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { pk: { S: "rate-limit#damaged#sliding#60m" }, grants: { S: "three" } } }),
    );
    await expect(limiter("damaged").tryAcquire(at(1))).rejects.toThrow(/rate-limit#damaged#sliding#60m .* is damaged/);
  });

  it("reports a store failure as a RateLimitStoreError that keeps the cause", async () => {
    const missing = new DynamoDbRateLimiter({ client, tableName: "no-such-table", limits });
    const error = await missing.tryAcquire(at(1)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitStoreError);
    expect((error as RateLimitStoreError).cause).toMatchObject({ name: "ResourceNotFoundException" });
    await expect(missing.countInWindow(at(1))).rejects.toBeInstanceOf(RateLimitStoreError);
  });
});
