import { DeleteBucketCommand, PutBucketAclCommand, PutBucketPolicyCommand, PutPublicAccessBlockCommand } from "@aws-sdk/client-s3";
import {
  DeletePublicAccessBlockCommand as DeleteAccountBlockCommand,
  GetPublicAccessBlockCommand as GetAccountBlockCommand,
  PutPublicAccessBlockCommand as PutAccountBlockCommand,
  S3ControlClient,
} from "@aws-sdk/client-s3-control";
import { canonicalJson, type JsonObject } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { bucketRef } from "../../../remediations/lib/arn";
import { hasErrorCode } from "../../../remediations/lib/aws-errors";
import { publicAllowStatements, publicGrantsInRequest } from "../../../remediations/lib/bucket-policy";
import { BLOCK_ALL_PUBLIC_ACCESS, readBucketPublicAccessBlock } from "../../../remediations/lib/public-access-block";
import { control, eventExposes } from "../../../remediations/s3-bucket-public-access";
import { liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { corpusAvailable, corpusEventOf, corpusEventsFor, corpusRecordsFor } from "../../support/corpus";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { checkScenarioRoundTrip, createTestBucket, s3Event, triggerOf } from "../../support/s3-buckets";
import { blockAll, publicGrants, scenario } from "./scenarios/s3-bucket-public-access";

const moto = useMoto();
const s3 = await moto.clients.s3(MOTO_REGION);
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = (options: Record<string, unknown> = {}) => offlineContext(moto, control, options);

const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const publicReadPolicy = (bucket: string, extra: JsonObject = {}) => ({
  Version: "2012-10-17",
  Statement: [
    { Sid: "PublicRead", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/*`, ...extra },
  ],
});

describe("s3-bucket-public-access: identity and options", () => {
  it("is registered, in the public-exposure area, approve by default, with exact IAM actions", () => {
    expect(controlById("s3-bucket-public-access")).toBe(control);
    expect(control.category).toBe("public-exposure");
    expect(control.defaultMode).toBe("approve");
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "s3.amazonaws.com CreateBucket",
      "s3.amazonaws.com DeleteBucketPublicAccessBlock",
      "s3.amazonaws.com PutBucketPublicAccessBlock",
      "s3.amazonaws.com PutBucketAcl",
      "s3.amazonaws.com PutBucketPolicy",
      "s3.amazonaws.com DeleteAccountPublicAccessBlock",
    ]);
    expect(control.permissions.apply).toEqual([
      "s3:GetBucketPublicAccessBlock",
      "s3:PutBucketPublicAccessBlock",
      "s3:GetAccountPublicAccessBlock",
      "s3:PutAccountPublicAccessBlock",
    ]);
    expect(control.permissions.rollback).toEqual(["s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"]);
  });

  it("exempts nothing by default and rejects bad exemptions, naming the field", () => {
    expect(control.options.parse({})).toEqual({ publicBuckets: [] });
    expect(control.options.safeParse({ publicBuckets: [""] }).error?.issues[0]?.path).toEqual(["publicBuckets", 0]);
    expect(control.options.safeParse({ publicTag: { value: "site" } }).error?.issues[0]?.path).toEqual(["publicTag", "key"]);
    expect(control.options.safeParse({ publicBucket: ["x"] }).error?.issues[0]?.message).toMatch(/publicBucket/);
  });
});

describe("lib/bucket-policy: public ACL grants and policy principals", () => {
  it("finds public grantees in an ACL body (one grant or a list), a canned ACL (list or scalar) and grant headers", () => {
    const grant = (uri: string, permission: string) => ({ Grantee: { URI: uri, "xsi:type": "Group" }, Permission: permission });
    const owner = { Grantee: { ID: "...", "xsi:type": "CanonicalUser" }, Permission: "FULL_CONTROL" };
    const body = (grants: JsonObject | JsonObject[]) => ({ AccessControlPolicy: { AccessControlList: { Grant: grants } } });
    expect(publicGrantsInRequest(body([owner, grant(ALL_USERS, "READ"), grant(AUTHENTICATED, "WRITE")]))).toEqual([
      "READ to everyone (AllUsers)",
      "WRITE to any AWS account (AuthenticatedUsers)",
    ]);
    expect(publicGrantsInRequest(body(grant(ALL_USERS, "READ_ACP")))).toEqual(["READ_ACP to everyone (AllUsers)"]);
    expect(publicGrantsInRequest({ "x-amz-acl": ["public-read-write"] })).toEqual([
      "READ and WRITE to everyone (canned ACL public-read-write)",
    ]);
    expect(publicGrantsInRequest({ "x-amz-acl": "authenticated-read" })).toHaveLength(1);
    expect(publicGrantsInRequest({ "x-amz-grant-read": `uri="${ALL_USERS}", id="abc"` })).toEqual(["READ to everyone (AllUsers)"]);
    expect(publicGrantsInRequest({ "x-amz-acl": ["private"] })).toEqual([]);
    expect(publicGrantsInRequest(body(owner))).toEqual([]);
    expect(publicGrantsInRequest(null)).toEqual([]);
  });

  it("finds Allow statements for anyone, but not ones narrowed by a condition or for named principals", () => {
    const open = publicReadPolicy("b").Statement;
    expect(publicAllowStatements(open)).toHaveLength(1);
    expect(publicAllowStatements([{ ...open[0], Principal: { AWS: ["arn:aws:iam::111122223333:root", "*"] } }])).toHaveLength(1);
    expect(publicAllowStatements([{ ...open[0], Condition: { StringEquals: { "aws:PrincipalOrgID": "o-1" } } }])).toEqual([]);
    expect(publicAllowStatements([{ ...open[0], Condition: { Bool: { "aws:SecureTransport": "true" } } }])).toHaveLength(1);
    expect(publicAllowStatements([{ ...open[0], Principal: { Service: "cloudtrail.amazonaws.com" } }])).toEqual([]);
    expect(publicAllowStatements([{ ...open[0], Effect: "Deny" }])).toEqual([]);
  });

  it("judges which events expose a bucket", () => {
    expect(eventExposes(s3Event("PutBucketAcl", { bucketName: "b", "x-amz-acl": "private" }))).toBe(false);
    expect(eventExposes(s3Event("PutBucketAcl", { bucketName: "b", "x-amz-acl": ["public-read"] }))).toBe(true);
    expect(eventExposes(s3Event("PutBucketPolicy", { bucketName: "b", bucketPolicy: publicReadPolicy("b") }))).toBe(true);
    expect(
      eventExposes(
        s3Event("PutBucketPolicy", {
          bucketName: "b",
          bucketPolicy: JSON.stringify(publicReadPolicy("b", { Principal: { AWS: "arn:aws:iam::111122223333:root" } })),
        }),
      ),
    ).toBe(false);
    expect(eventExposes(s3Event("PutBucketPolicy", { bucketName: "b", bucketPolicy: "..." }))).toBe(true);
    const block = (value: boolean | string) => ({
      bucketName: "b",
      PublicAccessBlockConfiguration: { ...BLOCK_ALL_PUBLIC_ACCESS, IgnorePublicAcls: value },
    });
    expect(eventExposes(s3Event("PutBucketPublicAccessBlock", block(true)))).toBe(false);
    expect(eventExposes(s3Event("PutBucketPublicAccessBlock", block("false")))).toBe(true);
  });
});

describe("s3-bucket-public-access: offline detection from the event alone", () => {
  const ref = bucketRef("offline-b", MOTO_ACCOUNT, MOTO_REGION);
  const detect = (name: string, request: JsonObject | null, options: Record<string, unknown> = {}) =>
    control.detect({ resource: ref, event: s3Event(name, request) }, offline(options));

  it("flags a deleted or weakened block, and not a full one", async () => {
    expect(onlyViolation(await detect("DeleteBucketPublicAccessBlock", { bucketName: "offline-b" }))).toMatchObject({
      confirmed: false,
      summary: "Public access block of offline-b is absent, so ACLs and bucket policies can make objects public",
      evidence: { current: null, required: BLOCK_ALL_PUBLIC_ACCESS },
    });
    const weakened = {
      bucketName: "offline-b",
      PublicAccessBlockConfiguration: { ...BLOCK_ALL_PUBLIC_ACCESS, BlockPublicPolicy: false, RestrictPublicBuckets: "false" },
    };
    expect(onlyViolation(await detect("PutBucketPublicAccessBlock", weakened)).summary).toBe(
      "Public access block of offline-b has BlockPublicPolicy, RestrictPublicBuckets off",
    );
    expect(
      await detect("PutBucketPublicAccessBlock", { bucketName: "offline-b", PublicAccessBlockConfiguration: BLOCK_ALL_PUBLIC_ACCESS }),
    ).toEqual([]);
  });

  it("leaves ACL and policy events to live detection (the event does not show the block), and honours exemptions", async () => {
    expect(await detect("PutBucketAcl", { bucketName: "offline-b", "x-amz-acl": "public-read" })).toEqual([]);
    expect(await detect("DeleteBucketPublicAccessBlock", { bucketName: "offline-b" }, { publicBuckets: ["offline-*"] })).toEqual([]);
  });
});

describe("s3-bucket-public-access: live detection against moto", () => {
  it("confirms a public ACL on a bucket without a block, and ignores a private ACL event", async () => {
    const ref = await createTestBucket(s3, "live-acl");
    await s3.send(new PutBucketAclCommand({ Bucket: "live-acl", ACL: "public-read" }));
    const event = s3Event("PutBucketAcl", { bucketName: "live-acl", "x-amz-acl": ["public-read"] });
    expect(onlyViolation(await control.detect({ resource: ref, event }, context()))).toMatchObject({
      confirmed: true,
      evidence: { current: null },
    });
    const privateEvent = s3Event("PutBucketAcl", { bucketName: "live-acl", "x-amz-acl": ["private"] });
    expect(await control.detect({ resource: ref, event: privateEvent }, context())).toEqual([]);
  });

  it("confirms a public policy, ignores a policy narrowed to the organisation, and clears a fully blocked bucket", async () => {
    const ref = await createTestBucket(s3, "live-policy");
    await s3.send(new PutBucketPolicyCommand({ Bucket: "live-policy", Policy: JSON.stringify(publicReadPolicy("live-policy")) }));
    const event = s3Event("PutBucketPolicy", { bucketName: "live-policy", bucketPolicy: publicReadPolicy("live-policy") });
    expect(onlyViolation(await control.detect({ resource: ref, event }, context())).confirmed).toBe(true);
    const narrowed = publicReadPolicy("live-policy", { Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abc" } } });
    expect(
      await control.detect(
        { resource: ref, event: s3Event("PutBucketPolicy", { bucketName: "live-policy", bucketPolicy: narrowed }) },
        context(),
      ),
    ).toEqual([]);
    await blockAll(s3, "live-policy");
    expect(onlyCleared(await control.detect({ resource: ref, event }, context()))).toBe(
      "public access block of live-policy is fully on, which meets the policy",
    );
  });

  it("exempts buckets declared public by name glob or by tag, and reports a gone bucket", async () => {
    const site = await createTestBucket(s3, "www-example");
    expect(await control.detect({ resource: site }, context({ publicBuckets: ["www-*"] }))).toEqual([]);
    const tagged = await createTestBucket(s3, "tagged-site", [{ Key: "Exposure", Value: "public-website" }]);
    expect(await control.detect({ resource: tagged }, context({ publicTag: { key: "Exposure", value: "public-website" } }))).toEqual([]);
    expect(onlyViolation(await control.detect({ resource: tagged }, context())).tags).toEqual({ Exposure: "public-website" });
    const gone = await createTestBucket(s3, "live-gone");
    await s3.send(new DeleteBucketCommand({ Bucket: "live-gone" }));
    expect(onlyCleared(await control.detect({ resource: gone }, context()))).toBe("public access block of live-gone no longer exists");
  });
});

describe("s3-bucket-public-access: plan, apply, verify, rollback", () => {
  it("plans all four settings on, saying plainly who loses what", async () => {
    const ref = await createTestBucket(s3, "plan-public");
    const finding = onlyViolation(await control.detect({ resource: ref }, context()));
    const plan = control.plan(finding, control.options.parse({}));
    expect(JSON.parse(canonicalJson(plan))).toEqual(plan);
    expect(plan).toMatchObject({ summary: "Turn all four public access block settings on for bucket plan-public.", reversible: true });
    expect(plan.params.required).toEqual(BLOCK_ALL_PUBLIC_ACCESS);
    expect(plan.steps.join(" ")).toMatch(/anonymous readers and other AWS accounts lose any access to bucket plan-public/);
    expect(plan.steps.join(" ")).toMatch(/publicBuckets/);
  });

  it("blocks everything, verifies, and rollback deletes the block that was absent; the ACL itself is untouched", async () => {
    const ctx = context();
    const ref = await createTestBucket(s3, "apply-none");
    await s3.send(new PutBucketAclCommand({ Bucket: "apply-none", ACL: "public-read" }));
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ref.arn, value: null });
    expect(await readBucketPublicAccessBlock(s3, "apply-none")).toEqual(BLOCK_ALL_PUBLIC_ACCESS);
    expect((await control.verify(plan, ctx)).ok).toBe(true);
    expect(await publicGrants(s3, "apply-none")).toEqual(["READ to everyone (AllUsers)"]);
    await control.rollback(plan, applied.before, ctx);
    expect(await readBucketPublicAccessBlock(s3, "apply-none")).toBeNull();
  });

  it("rolls a weakened block back to its exact saved settings", async () => {
    const ctx = context();
    const ref = await createTestBucket(s3, "apply-partial");
    const partial = { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false };
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: "apply-partial", PublicAccessBlockConfiguration: partial }));
    const plan = control.plan(onlyViolation(await control.detect({ resource: ref }, ctx)), ctx.options);
    const applied = await control.apply(plan, ctx);
    expect(applied.before).toEqual({ arn: ref.arn, value: partial });
    await control.rollback(plan, applied.before, ctx);
    expect(await readBucketPublicAccessBlock(s3, "apply-partial")).toEqual(partial);
    await expect(control.rollback(plan, { arn: ref.arn, value: { BlockPublicAcls: true } }, ctx)).rejects.toThrow(/field value/);
  });
});

describe("s3-bucket-public-access: the account-level block (S3 Control, fault-injected)", () => {
  // moto cannot serve S3 Control to the JS SDK: its endpoint rules put the account id in the host name
  // (123456789012.127.0.0.1), which disableHostPrefix does not remove. The S3 Control client is mocked here.
  const s3Control = mockClient(S3ControlClient);
  afterEach(() => s3Control.reset());
  const event = s3Event("DeleteAccountPublicAccessBlock", { host: [`${MOTO_ACCOUNT}.s3-control.us-east-1.amazonaws.com`] });
  const [accountRef] = triggerOf(control, "DeleteAccountPublicAccessBlock").resources(event);
  const noBlock = Object.assign(new Error("The public access block configuration was not found"), {
    name: "NoSuchPublicAccessBlockConfiguration",
  });

  it("names the account's block, flags its deletion offline, and confirms it live", async () => {
    expect(accountRef).toMatchObject({
      type: "AWS::S3::AccountPublicAccessBlock",
      id: MOTO_ACCOUNT,
      account: MOTO_ACCOUNT,
      region: "us-east-1",
    });
    if (!accountRef) throw new Error("no account ref");
    expect(onlyViolation(await control.detect({ resource: accountRef, event }, offline())).summary).toMatch(
      /^Public access block of 123456789012 is absent/,
    );
    s3Control.on(GetAccountBlockCommand).rejects(noBlock);
    const finding = onlyViolation(await control.detect({ resource: accountRef, event }, context()));
    expect(finding).toMatchObject({ confirmed: true, tags: {} });
    expect(s3Control.commandCalls(GetAccountBlockCommand)[0]?.args[0].input).toEqual({ AccountId: MOTO_ACCOUNT });
  });

  it("puts all four settings on for the account, and rollback deletes the block again", async () => {
    if (!accountRef) throw new Error("no account ref");
    s3Control
      .on(GetAccountBlockCommand)
      .rejects(noBlock)
      .on(PutAccountBlockCommand)
      .resolves({})
      .on(DeleteAccountBlockCommand)
      .resolves({});
    const ctx = context();
    const plan = control.plan(onlyViolation(await control.detect({ resource: accountRef, event }, ctx)), ctx.options);
    expect(plan.summary).toBe(`Turn all four S3 public access block settings on for account ${MOTO_ACCOUNT}.`);
    expect(plan.steps.join(" ")).toMatch(/every bucket in the account/);
    const applied = await control.apply(plan, ctx);
    expect(s3Control.commandCalls(PutAccountBlockCommand)[0]?.args[0].input).toEqual({
      AccountId: MOTO_ACCOUNT,
      PublicAccessBlockConfiguration: BLOCK_ALL_PUBLIC_ACCESS,
    });
    await control.rollback(plan, applied.before, ctx);
    expect(s3Control.commandCalls(DeleteAccountBlockCommand)[0]?.args[0].input).toEqual({ AccountId: MOTO_ACCOUNT });
  });
});

describe("s3-bucket-public-access: sweep", () => {
  it("lists buckets only, finds those without a full block, and skips exempt ones", async () => {
    await createTestBucket(s3, "sweep-blocked");
    await blockAll(s3, "sweep-blocked");
    const ctx = context({ publicBuckets: ["www-*"] });
    const found: string[] = [];
    for await (const ref of control.sweep(ctx)) {
      expect(ref.type).toBe("AWS::S3::Bucket");
      for (const verdict of await control.detect({ resource: ref }, ctx)) if (verdict.kind === "violation") found.push(ref.id);
    }
    expect(found).toContain("apply-none");
    expect(found).not.toContain("sweep-blocked");
    expect(found).not.toContain("www-example");
  });
});

describe("s3-bucket-public-access: end-to-end scenario", () => {
  it("arranges a real violation the control finds from the record, and the fix satisfies assertFixed", async () => {
    await checkScenarioRoundTrip(moto, control, scenario, "PutBucketAcl", () => context(scenario.options));
  });
});

describe.runIf(corpusAvailable())("s3-bucket-public-access: real corpus records", () => {
  it("flags offline the real block deletions and weakenings that name a bucket, and not a full block", async () => {
    const outcomes: string[] = [];
    for (const name of ["DeleteBucketPublicAccessBlock", "PutBucketPublicAccessBlock"]) {
      const trigger = triggerOf(control, name);
      for (const event of corpusEventsFor(trigger)) {
        for (const resource of trigger.resources(event)) {
          const verdicts = await control.detect({ resource, event }, offline());
          outcomes.push(`${name} ${resource.id}: ${verdicts.map((v) => v.kind).join(",") || "none"}`);
        }
      }
    }
    // corporate-documents: deleted (flagged) and a Put without its body (unknown); "test": all four on; a redacted "..." bucket names nothing.
    expect(outcomes.sort()).toEqual([
      "DeleteBucketPublicAccessBlock corporate-documents: violation",
      "PutBucketPublicAccessBlock corporate-documents: none",
      "PutBucketPublicAccessBlock test: none",
    ]);
  });

  it("reads the real PutBucketAcl grant lists, and confirms live that a private ACL is no exposure", async () => {
    const trigger = triggerOf(control, "PutBucketAcl");
    const outcomes: string[] = [];
    // streamalert's record has a placeholder eventTime, which ingestion rightly refuses; it gets a fixed time here.
    const events = corpusRecordsFor(trigger).map(({ origin, record }) =>
      corpusEventOf({
        origin,
        record: Number.isNaN(Date.parse(String(record.eventTime))) ? { ...record, eventTime: "2024-01-01T00:00:00Z" } : record,
      }),
    );
    for (const event of events) {
      for (const resource of trigger.resources(event)) {
        // The named bucket exists without a block, as the record's account had it.
        await createTestBucket(s3, resource.id).catch((error: unknown) => {
          if (!hasErrorCode(error, "BucketAlreadyOwnedByYou")) throw error;
        });
        const verdicts = await control.detect({ resource, event }, context());
        outcomes.push(
          `${resource.id} ${publicGrantsInRequest(event.request).length > 0 ? "public" : "private"}: ${verdicts.map((v) => v.kind).join(",") || "none"}`,
        );
      }
    }
    // The private ACL names its bucket; the public one (streamalert) has its bucket redacted to "...", so it names
    // no resource, but its real grant list is still read right.
    expect(outcomes).toEqual(["bucket private: none"]);
    expect(events.map((event) => publicGrantsInRequest(event.request)).filter((grants) => grants.length > 0)).toEqual([
      [
        "READ to any AWS account (AuthenticatedUsers)",
        "READ_ACP to any AWS account (AuthenticatedUsers)",
        "READ to everyone (AllUsers)",
        "READ_ACP to everyone (AllUsers)",
      ],
    ]);
  });
});
