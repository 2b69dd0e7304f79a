import { afterEach, describe, expect, it } from "vitest";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDbExemptionStore, SqliteExemptionStore, type ExemptionRef, type ExemptionStore } from "@hipaa-remediate/core";
import { useMoto } from "../../support/moto";
import { createExemptionsTable, tempDatabase } from "./fixtures";

const moto = useMoto();

const later: ExemptionRef = {
  source: "policy",
  resource: "arn:aws:s3:::phi-vendor-drop",
  controls: ["s3-bucket-default-encryption"],
  reason: "Vendor migration in progress until April",
  owner: "dana (Slack U0APPROVER)",
  expires: "2025-04-30T12:00:00.000Z",
};
const sooner: ExemptionRef = { ...later, resource: "arn:aws:s3:::phi-scratch", expires: "2025-03-31T12:00:00.000Z" };

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

let tableCounter = 0;
const adapters: Array<[string, () => Promise<ExemptionStore>]> = [
  [
    "SqliteExemptionStore",
    async () => {
      const temp = tempDatabase();
      cleanups.push(temp.cleanup);
      return new SqliteExemptionStore(temp.db);
    },
  ],
  [
    "DynamoDbExemptionStore",
    async () => {
      const client = new DynamoDBClient(moto.config);
      cleanups.push(() => client.destroy());
      const tableName = `exemptions-${++tableCounter}`;
      await createExemptionsTable(client, tableName);
      return new DynamoDbExemptionStore(client, tableName);
    },
  ],
];

describe.each(adapters)("%s", (_name, makeStore) => {
  it("lists what was added, soonest expiry first, and stores a repeated add once", async () => {
    const store = await makeStore();
    expect(await store.list()).toEqual([]);
    await store.add(later);
    await store.add(sooner);
    await store.add({ ...later });
    expect(await store.list()).toEqual([sooner, later]);
  });

  it("grants once per key: a retry with a later expiry keeps and returns the first", async () => {
    const store = await makeStore();
    const retried = { ...later, expires: "2025-05-01T12:00:00.000Z" };
    expect(await store.grantOnce("approval#prop-1", later)).toEqual(later);
    expect(await store.grantOnce("approval#prop-1", retried)).toEqual(later);
    expect(await store.grantOnce("approval#prop-2", sooner)).toEqual(sooner);
    expect(await store.list()).toEqual([sooner, later]);
  });

  it("refuses an exemption without a reason, naming the field", async () => {
    const store = await makeStore();
    await expect(store.add({ ...later, reason: "" })).rejects.toMatchObject({ name: "InvalidExemptionError", field: "exemption.reason" });
    expect(await store.list()).toEqual([]);
  });
});
