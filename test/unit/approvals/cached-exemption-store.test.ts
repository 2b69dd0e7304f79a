import { CachedExemptionStore, openDatabase, SqliteExemptionStore, type ExemptionRef } from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";

function exemption(resource: string): ExemptionRef {
  return {
    source: "approval",
    resource,
    controls: ["s3-bucket-default-encryption"],
    reason: "vendor appliance, compensating control CC-12",
    owner: "dana (Slack U0APPROVER)",
    expires: "2099-01-01T00:00:00.000Z",
  };
}

describe("CachedExemptionStore", () => {
  it("reuses the listed exemptions until the TTL passes, and sees its own additions at once", async () => {
    const backing = new SqliteExemptionStore(openDatabase(":memory:"));
    let clock = 0;
    const cached = new CachedExemptionStore(backing, 60_000, () => clock);

    expect(await cached.list()).toEqual([]);
    // Granted elsewhere (another process): not seen until the TTL passes.
    await backing.add(exemption("arn:aws:s3:::granted-elsewhere"));
    expect(await cached.list()).toEqual([]);
    clock = 60_000;
    expect((await cached.list()).map((e) => e.resource)).toEqual(["arn:aws:s3:::granted-elsewhere"]);

    await cached.add(exemption("arn:aws:s3:::granted-here"));
    expect((await cached.list()).map((e) => e.resource).sort()).toEqual(["arn:aws:s3:::granted-elsewhere", "arn:aws:s3:::granted-here"]);
  });
});
