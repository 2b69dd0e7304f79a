import { DeleteBucketCommand } from "@aws-sdk/client-s3";
import { canonicalJson, type JsonObject } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { bucketRef } from "../../../remediations/lib/arn";
import { mergeStatement, policyFromRequest, readBucketPolicy } from "../../../remediations/lib/bucket-policy";
import { TLS_ONLY_SID, control, deniesPlainHttp, tlsOnlyStatement } from "../../../remediations/s3-bucket-tls-only";
import { liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusEventsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { PHI_TAGS, checkScenarioRoundTrip, createTestBucket, s3Event, sweepViolations, triggerOf } from "../../support/s3-buckets";
import { policyDocument, putPolicy, readerPolicy, scenario } from "./scenarios/s3-bucket-tls-only";

const moto = useMoto();
const s3 = await moto.clients.s3(MOTO_REGION);
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = (options: Record<string, unknown> = {}) => offlineContext(moto, control, options);

describe("s3-bucket-tls-only: identity and options", () => {
  it("is registered, in the encryption-in-transit area, with exact IAM actions", () => {
    expect(controlById("s3-bucket-tls-only")).toBe(control);
    expect(control.category).toBe("encryption-in-transit");
    expect(control.hipaa.sections).toEqual(["164.312(e)(1)", "164.312(e)(2)(ii)"]);
    expect(control.triggers.map((t) => t.name)).toEqual(["CreateBucket", "PutBucketPolicy", "DeleteBucketPolicy"]);
    expect(control.permissions).toEqual({
      detect: ["s3:GetBucketPolicy", "s3:GetBucketTagging", "s3:ListAllMyBuckets", "s3:GetBucketLocation"],
      apply: ["s3:GetBucketPolicy", "s3:PutBucketPolicy"],
      rollback: ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
    });
  });

  it("covers every bucket by default and rejects a bad option, naming the field", () => {
    expect(control.options.parse(undefined)).toEqual({ phiOnly: false });
    expect(control.options.safeParse({ phiOnly: 1 }).error?.issues[0]?.path).toEqual(["phiOnly"]);
  });

  it("reads the bucket of PutBucketPolicy and DeleteBucketPolicy, and nothing from null parameters", () => {
    const put = triggerOf(control, "PutBucketPolicy");
    expect(put.resources(s3Event("PutBucketPolicy", { bucketName: "b-1", bucketPolicy: readerPolicy("b-1") }))).toEqual([
      bucketRef("b-1", MOTO_ACCOUNT, MOTO_REGION),
    ]);
    expect(
      triggerOf(control, "DeleteBucketPolicy")
        .resources(s3Event("DeleteBucketPolicy", { bucketName: ["b-2"] }))
        .map((r) => r.id),
    ).toEqual(["b-2"]);
    expect(put.resources(s3Event("PutBucketPolicy", null))).toEqual([]);
  });
});

describe("s3-bucket-tls-only: which statements count as TLS-only", () => {
  const deny = tlsOnlyStatement("b");

  it("accepts the engine's statement, {AWS: *}, BoolIfExists, Resource *, and GetObject plus PutObject", () => {
    expect(deniesPlainHttp(deny, "b")).toBe(true);
    expect(deniesPlainHttp({ ...deny, Principal: { AWS: "*" } }, "b")).toBe(true);
    expect(deniesPlainHttp({ ...deny, Condition: { BoolIfExists: { "aws:securetransport": false } } }, "b")).toBe(true);
    expect(deniesPlainHttp({ ...deny, Resource: "*" }, "b")).toBe(true);
    expect(deniesPlainHttp({ ...deny, Action: ["s3:GetObject", "s3:PutObject"], Resource: "arn:aws:s3:::b/*" }, "b")).toBe(true);
  });

  it("refuses an Allow, a named principal, SecureTransport true, reads only, the bucket ARN only, another bucket", () => {
    expect(deniesPlainHttp({ ...deny, Effect: "Allow" }, "b")).toBe(false);
    expect(deniesPlainHttp({ ...deny, Principal: { AWS: `arn:aws:iam::${MOTO_ACCOUNT}:root` } }, "b")).toBe(false);
    expect(deniesPlainHttp({ ...deny, Condition: { Bool: { "aws:SecureTransport": "true" } } }, "b")).toBe(false);
    expect(deniesPlainHttp({ ...deny, Action: "s3:GetObject" }, "b")).toBe(false);
    expect(deniesPlainHttp({ ...deny, Resource: "arn:aws:s3:::b" }, "b")).toBe(false);
    expect(deniesPlainHttp(tlsOnlyStatement("other"), "b")).toBe(false);
  });
});

describe("lib/bucket-policy: request shapes and merging", () => {
  it("reads bucketPolicy as the object CloudTrail records, or as JSON text, and nothing unreadable", () => {
    const policy = readerPolicy("b");
    expect(policyFromRequest({ bucketName: "b", bucketPolicy: policy })?.statements).toHaveLength(1);
    expect(policyFromRequest({ bucketName: "b", bucketPolicy: JSON.stringify(policy) })?.document).toEqual(policy);
    expect(policyFromRequest({ bucketPolicy: "invalid-json-policy" })).toBeUndefined();
    expect(policyFromRequest({ bucketPolicy: "..." })).toBeUndefined();
    expect(policyFromRequest({ bucketPolicy: { Statement: "not a statement" } })).toBeUndefined();
    expect(policyFromRequest(null)).toBeUndefined();
  });

  it("appends the statement, keeping every other statement and field in order, and replaces its own Sid", () => {
    const second = { Sid: "Second", Effect: "Deny", Principal: "*", Action: "s3:DeleteBucket", Resource: "arn:aws:s3:::b" };
    const merged = JSON.parse(mergeStatement(JSON.stringify(readerPolicy("b", [second])), tlsOnlyStatement("b"), "b")) as JsonObject;
    expect(merged).toEqual(readerPolicy("b", [second, tlsOnlyStatement("b")]));
    const again = mergeStatement(JSON.stringify(merged), tlsOnlyStatement("b"), "b");
    expect(JSON.parse(again)).toEqual(merged);
    expect(JSON.parse(mergeStatement(null, tlsOnlyStatement("b"), "b"))).toEqual({
      Version: "2012-10-17",
      Statement: [tlsOnlyStatement("b")],
    });
  });
});

describe("s3-bucket-tls-only: offline detection from the event alone", () => {
  const ref = bucketRef("offline-policy", MOTO_ACCOUNT, MOTO_REGION);
  const detect = (name: string, request: JsonObject | null) => control.detect({ resource: ref, event: s3Event(name, request) }, offline());

  it("flags a PutBucketPolicy without a TLS deny, a DeleteBucketPolicy and a CreateBucket", async () => {
    const finding = onlyViolation(
      await detect("PutBucketPolicy", { bucketName: "offline-policy", bucketPolicy: readerPolicy("offline-policy") }),
    );
    expect(finding).toMatchObject({ confirmed: false, summary: expect.stringMatching(/does not deny requests without TLS/) });
    expect(JSON.parse(String(finding.evidence.current))).toEqual(readerPolicy("offline-policy"));
    expect(onlyViolation(await detect("DeleteBucketPolicy", { bucketName: "offline-policy" })).evidence.current).toBeNull();
    expect(onlyViolation(await detect("CreateBucket", { bucketName: "offline-policy" })).summary).toMatch(/has no bucket policy/);
  });

  it("stays silent for a policy (object or text) that has the deny, and for one it cannot read", async () => {
    const guarded = readerPolicy("offline-policy", [tlsOnlyStatement("offline-policy")]);
    expect(await detect("PutBucketPolicy", { bucketName: "offline-policy", bucketPolicy: guarded })).toEqual([]);
    expect(await detect("PutBucketPolicy", { bucketName: "offline-policy", bucketPolicy: JSON.stringify(guarded) })).toEqual([]);
    expect(await detect("PutBucketPolicy", { bucketName: "offline-policy", bucketPolicy: "invalid-json-policy" })).toEqual([]);
    expect(await detect("PutBucketPolicy", null)).toEqual([]);
  });
});

describe("s3-bucket-tls-only: live detection against moto", () => {
  it("confirms a policy without the deny, and trusts live state over a late event", async () => {
    const ref = await createTestBucket(s3, "live-no-tls", PHI_TAGS);
    await putPolicy(s3, "live-no-tls", readerPolicy("live-no-tls"));
    const event = s3Event("PutBucketPolicy", { bucketName: "live-no-tls", bucketPolicy: readerPolicy("live-no-tls") });
    expect(onlyViolation(await control.detect({ resource: ref, event }, context()))).toMatchObject({
      confirmed: true,
      tags: { DataClassification: "PHI" },
    });
    await putPolicy(s3, "live-no-tls", readerPolicy("live-no-tls", [tlsOnlyStatement("live-no-tls")]));
    expect(onlyCleared(await control.detect({ resource: ref, event }, context()))).toBe(
      `bucket live-no-tls is under a policy of 2 statements (AnalyticsRead, ${TLS_ONLY_SID}), which meets the policy`,
    );
  });

  it("reports a deleted bucket as gone, and with phiOnly passes over a bucket without the PHI tag", async () => {
    const gone = await createTestBucket(s3, "live-gone");
    await s3.send(new DeleteBucketCommand({ Bucket: "live-gone" }));
    expect(onlyCleared(await control.detect({ resource: gone }, context()))).toBe("bucket live-gone no longer exists");
    const plain = await createTestBucket(s3, "live-plain");
    expect(await control.detect({ resource: plain }, context({ phiOnly: true }))).toEqual([]);
    expect(onlyViolation(await control.detect({ resource: plain }, context())).evidence.current).toBeNull();
  });
});

describe("s3-bucket-tls-only: plan, apply, verify, rollback", () => {
  it("plans purely: the exact merged policy, in plain words, with who loses what", async () => {
    const ref = await createTestBucket(s3, "plan-policy");
    await putPolicy(s3, "plan-policy", readerPolicy("plan-policy"));
    const finding = onlyViolation(await control.detect({ resource: ref }, context()));
    const plan = control.plan(finding, control.options.parse({}));
    expect(control.plan(finding, control.options.parse({}))).toEqual(plan);
    expect(JSON.parse(canonicalJson(plan))).toEqual(plan);
    expect(JSON.parse(String(plan.params.required))).toEqual(readerPolicy("plan-policy", [tlsOnlyStatement("plan-policy")]));
    expect(plan.summary).toBe(`Add a statement denying requests without TLS (Sid ${TLS_ONLY_SID}) to the policy of bucket plan-policy.`);
    expect(plan.steps.join(" ")).toMatch(/over plain HTTP are refused/);
  });

  it("merges the deny into the existing policy, verifies, and rolls back to the exact saved text", async () => {
    const ctx = context();
    const ref = await createTestBucket(s3, "apply-merge");
    await putPolicy(s3, "apply-merge", readerPolicy("apply-merge"));
    const savedText = await readBucketPolicy(s3, "apply-merge");
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ref.arn, value: savedText });
    expect(await policyDocument(s3, "apply-merge")).toEqual(readerPolicy("apply-merge", [tlsOnlyStatement("apply-merge")]));
    expect((await control.verify(plan, ctx)).ok).toBe(true);
    await control.rollback(plan, applied.before, ctx);
    expect(await readBucketPolicy(s3, "apply-merge")).toBe(savedText);
  });

  it("creates a policy for a bucket without one, and rollback deletes it again", async () => {
    const ctx = context();
    const ref = await createTestBucket(s3, "apply-fresh");
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ref.arn, value: null });
    expect(await policyDocument(s3, "apply-fresh")).toEqual({ Version: "2012-10-17", Statement: [tlsOnlyStatement("apply-fresh")] });
    await control.rollback(plan, applied.before, ctx);
    expect(await readBucketPolicy(s3, "apply-fresh")).toBeNull();
  });

  it("keeps a statement added between the plan and the apply", async () => {
    const ctx = context();
    const ref = await createTestBucket(s3, "apply-edited");
    await putPolicy(s3, "apply-edited", readerPolicy("apply-edited"));
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    const added = { Sid: "AddedLater", Effect: "Deny", Principal: "*", Action: "s3:DeleteBucket", Resource: "arn:aws:s3:::apply-edited" };
    await putPolicy(s3, "apply-edited", readerPolicy("apply-edited", [added]));
    await control.apply(plan, ctx);
    expect(await policyDocument(s3, "apply-edited")).toEqual(readerPolicy("apply-edited", [added, tlsOnlyStatement("apply-edited")]));
  });

  it("fails apply as gone for a deleted bucket, and refuses a captured state for another bucket", async () => {
    const ctx = context();
    const ref = await createTestBucket(s3, "apply-gone");
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    await expect(control.rollback(plan, { arn: "arn:aws:s3:::other", value: null }, ctx)).rejects.toThrow(/field arn/);
    await expect(control.rollback(plan, { arn: ref.arn, value: 7 }, ctx)).rejects.toThrow(/field value/);
    await s3.send(new DeleteBucketCommand({ Bucket: "apply-gone" }));
    // Apply reads in the re-check's scope, as executePlan runs it, not through detection's cached reads.
    await expect(control.apply(plan, { ...ctx, reads: ctx.reads.forRecheck() })).rejects.toMatchObject({ name: "ResourceGoneError" });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: false, detail: "bucket apply-gone no longer exists" });
  });
});

describe("s3-bucket-tls-only: sweep", () => {
  it("finds buckets without the deny, and with phiOnly only PHI buckets", async () => {
    await createTestBucket(s3, "sweep-guarded");
    await putPolicy(s3, "sweep-guarded", { Version: "2012-10-17", Statement: [tlsOnlyStatement("sweep-guarded")] });
    await createTestBucket(s3, "sweep-phi-open", PHI_TAGS);
    const violations = (options: Record<string, unknown>) => sweepViolations(control, context(options));
    const all = await violations({});
    expect(all).toEqual(expect.arrayContaining(["sweep-phi-open", "live-plain"]));
    expect(all).not.toContain("sweep-guarded");
    const phi = await violations({ phiOnly: true });
    expect(phi).toContain("sweep-phi-open");
    expect(phi).not.toContain("live-plain");
  });
});

describe("s3-bucket-tls-only: end-to-end scenario", () => {
  it("arranges a real violation the control finds from the record, and the fix satisfies assertFixed", async () => {
    await checkScenarioRoundTrip(moto, control, scenario, "PutBucketPolicy", () => context(scenario.options));
  });
});

describe.runIf(corpusAvailable())("s3-bucket-tls-only: real corpus records", () => {
  it("flags the real PutBucketPolicy records that name a bucket and carry a readable policy, none with a TLS deny", async () => {
    const trigger = triggerOf(control, "PutBucketPolicy");
    const flagged: string[] = [];
    for (const event of corpusEventsFor(trigger)) {
      for (const resource of trigger.resources(event)) {
        const verdicts = await control.detect({ resource, event }, offline());
        if (policyFromRequest(event.request) === undefined) expect(verdicts, event.origin).toEqual([]);
        else flagged.push(onlyViolation(verdicts).resource.id);
      }
    }
    // panther's two example-bucket records (a public and a CloudTrail-service policy) and streamalert's "test".
    expect(flagged.sort()).toEqual(["example-bucket", "example-bucket", "test"]);
  });
});
