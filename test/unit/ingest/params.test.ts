import { describe, expect, it } from "vitest";
import { scalarParam } from "@hipaa-remediate/core";

describe("scalarParam", () => {
  it("reads a scalar and a one-element list the same way", () => {
    expect(scalarParam({ bucketName: "phi-x" }, "bucketName")).toBe("phi-x");
    expect(scalarParam({ bucketName: ["phi-x"] }, "bucketName")).toBe("phi-x");
  });

  it('ignores the placeholder "...", in a list too', () => {
    expect(scalarParam({ bucketName: "..." }, "bucketName")).toBeUndefined();
    expect(scalarParam({ bucketName: ["..."] }, "bucketName")).toBeUndefined();
  });

  it("keeps empty strings, which S3 uses to mark sub-resources", () => {
    expect(scalarParam({ logging: "" }, "logging")).toBe("");
    expect(scalarParam({ acl: [""] }, "acl")).toBe("");
  });

  it("gives numbers and booleans as their JSON text", () => {
    expect(scalarParam({ minCount: 1, multiAZ: false }, "minCount")).toBe("1");
    expect(scalarParam({ minCount: 1, multiAZ: false }, "multiAZ")).toBe("false");
  });

  it("gives undefined for missing keys, null requests, objects, nulls and longer lists", () => {
    expect(scalarParam(null, "bucketName")).toBeUndefined();
    expect(scalarParam({}, "bucketName")).toBeUndefined();
    expect(scalarParam({ bucketName: null }, "bucketName")).toBeUndefined();
    expect(scalarParam({ bucketName: { value: "x" } }, "bucketName")).toBeUndefined();
    expect(scalarParam({ bucketName: ["a", "b"] }, "bucketName")).toBeUndefined();
    expect(scalarParam({ bucketName: [] }, "bucketName")).toBeUndefined();
  });
});
