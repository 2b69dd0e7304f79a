import { ReadCache } from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";

/** A loader that counts its calls and returns the call number. */
function counter(): { load: () => Promise<number>; readonly calls: number } {
  let calls = 0;
  return {
    load: async () => ++calls,
    get calls() {
      return calls;
    },
  };
}

describe("ReadCache", () => {
  it("loads a key once per unit of work", async () => {
    const reads = new ReadCache();
    const setting = counter();
    expect(await reads.read("setting:a", setting.load)).toBe(1);
    expect(await reads.read("setting:a", setting.load)).toBe(1);
    expect(setting.calls).toBe(1);
  });

  it("gives the re-check scope the lasting reads (tags) and reads everything else afresh", async () => {
    const reads = new ReadCache();
    const tags = counter();
    const setting = counter();
    await reads.readLasting("tags:a", tags.load);
    await reads.read("setting:a", setting.load);

    const recheck = reads.forRecheck();
    expect(await recheck.readLasting("tags:a", tags.load)).toBe(1);
    expect(await recheck.read("setting:a", setting.load)).toBe(2);
    // Apply, in the same scope, gets the re-check's read rather than a third one.
    expect(await recheck.read("setting:a", setting.load)).toBe(2);
    expect({ tags: tags.calls, setting: setting.calls }).toEqual({ tags: 1, setting: 2 });
  });

  it("keeps a failed load out of the cache, so the next read tries again", async () => {
    const reads = new ReadCache();
    await expect(reads.read("setting:a", () => Promise.reject(new Error("throttled")))).rejects.toThrow("throttled");
    expect(await reads.read("setting:a", async () => "read")).toBe("read");
  });
});
