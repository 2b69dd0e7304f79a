import { CreateBucketCommand, ListBucketsCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { MOTO_REGION, useMoto } from "../support/moto";

const moto = useMoto();

describe("moto harness", () => {
  it("serves the engine's clients on a loopback endpoint that this file has to itself", async () => {
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const s3 = await moto.clients.s3(MOTO_REGION);
    await s3.send(new CreateBucketCommand({ Bucket: "harness-check" }));
    const listed = await s3.send(new ListBucketsCommand({}));
    expect(listed.Buckets?.map((b) => b.Name)).toEqual(["harness-check"]);
  });

  it("reset clears every resource", async () => {
    await moto.reset();
    const listed = await (await moto.clients.s3(MOTO_REGION)).send(new ListBucketsCommand({}));
    expect(listed.Buckets ?? []).toEqual([]);
  });
});
