import { ReadCache, type AnyControl, type Verdict } from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";
import { control as accessLogging } from "../../../remediations/s3-bucket-access-logging";
import { control as publicAccess } from "../../../remediations/s3-bucket-public-access";
import { control as tlsOnly } from "../../../remediations/s3-bucket-tls-only";
import { control as versioning } from "../../../remediations/s3-bucket-versioning";
import { liveContext } from "../../support/control-harness";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { PHI_TAGS, createTestBucket } from "../../support/s3-buckets";

const moto = useMoto();
const s3 = await moto.clients.s3(MOTO_REGION);

/** Every S3 request this file's client sends, by command name, counted as the SDK sends them. */
const requests = new Map<string, number>();
s3.middlewareStack.add(
  (next, context) => async (args) => {
    const name = String(context.commandName);
    requests.set(name, (requests.get(name) ?? 0) + 1);
    return next(args);
  },
  { step: "initialize", name: "countRequestsForSharedReadsTest" },
);

describe("bucket controls share one inventory in a sweep", () => {
  it("lists the buckets once and reads each bucket's tags once for four bucket controls", async () => {
    const names = ["shared-a", "shared-b", "shared-phi"];
    for (const name of names) await createTestBucket(s3, name, name === "shared-phi" ? PHI_TAGS : []);
    requests.clear();

    const reads = new ReadCache();
    const controls: AnyControl[] = [versioning, tlsOnly, accessLogging, publicAccess];
    const verdicts: Verdict[] = [];
    for (const control of controls) {
      const ctx = { ...liveContext(moto, control), reads };
      for await (const resource of control.sweep(ctx)) verdicts.push(...(await control.detect({ resource }, ctx)));
    }

    expect(requests.get("ListBucketsCommand")).toBe(1);
    expect(requests.get("GetBucketTaggingCommand")).toBe(names.length);
    // Each control still read its own setting of every bucket it covers: the cache shares inventory, not verdicts.
    expect(requests.get("GetBucketVersioningCommand")).toBe(names.length);
    expect(requests.get("GetBucketLoggingCommand")).toBe(1);
    expect(verdicts.filter((v) => v.kind === "violation")).toHaveLength(names.length * 3 + 1);
  });
});
