import { CreateTagsCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { DeleteBucketCommand, DeleteBucketPolicyCommand, PutPublicAccessBlockCommand } from "@aws-sdk/client-s3";
import { canonicalJson, type ResourceRef } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { bucketRef, instanceRef } from "../../../remediations/lib/arn";
import { ISOLATION_GROUP_NAME, QUARANTINE_TAG_KEY } from "../../../remediations/lib/ec2-quarantine";
import { LOCKDOWN_SID, mergeStatement } from "../../../remediations/lib/bucket-lockdown";
import { control } from "../../../remediations/phi-tagged-non-production";
import { cloudTrailRecord } from "../../support/cloudtrail";
import {
  TEST_ENGINE_TAG,
  TEST_NOW,
  changeEventOf,
  liveContext,
  offlineContext,
  onlyCleared,
  onlyViolation,
} from "../../support/control-harness";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import {
  createNetwork,
  describeOne,
  expectQuarantined,
  instanceGroups,
  launchInstance,
  runInstancesRecord,
  runInstancesRequest,
  tagValue,
  WEB_GROUP_NAME,
  type TestNetwork,
} from "./scenarios/ec2-instance-in-public-subnet";
import {
  BREAK_GLASS_ROLE,
  PHI_DEV_TAGS,
  createBucket,
  policyOf,
  policyStatements,
  publicAccessBlockOf,
  putBucketTaggingRecord,
  scenario,
  tagBucket,
  tlsOnlyPolicy,
  tlsOnlyStatement,
} from "./scenarios/phi-tagged-non-production";

const moto = useMoto();
const s3 = await moto.clients.s3(MOTO_REGION);
const ec2 = await moto.clients.ec2(MOTO_REGION);
const context = (options: Record<string, unknown> = {}) => liveContext(moto, control, options);
const offline = () => offlineContext(moto, control);
const PHI_DEV_MAP = { DataClassification: "PHI", Environment: "dev" };
const PHI_PROD_TAGS = [
  { Key: "DataClassification", Value: "PHI" },
  { Key: "Environment", Value: "prod" },
];

function ec2Record(eventName: string, requestParameters: Record<string, unknown> | null): Record<string, unknown> {
  return cloudTrailRecord({ eventSource: "ec2.amazonaws.com", eventName, requestParameters, responseElements: { _return: true } });
}

/** CreateTags as CloudTrail records it: lower-case `key`/`value`, and any mix of resource ids. */
function createTagsRecord(resourceIds: string[], tags: Record<string, string>): Record<string, unknown> {
  return ec2Record("CreateTags", {
    resourcesSet: { items: resourceIds.map((resourceId) => ({ resourceId })) },
    tagSet: { items: Object.entries(tags).map(([key, value]) => ({ key, value })) },
  });
}

function bucket(name: string): ResourceRef {
  return bucketRef(name, MOTO_ACCOUNT, MOTO_REGION);
}

function instance(id: string | undefined): ResourceRef {
  if (!id) throw new Error("instance without id");
  return instanceRef(id, MOTO_ACCOUNT, MOTO_REGION);
}

/** A bucket tagged PHI + dev, with the TLS-only policy unless `policy` is null. */
async function violatingBucket(options: Record<string, unknown> = {}, policy: ((name: string) => string) | null = tlsOnlyPolicy) {
  const name = await createBucket(s3, PHI_DEV_TAGS, policy ?? undefined);
  const resource = bucket(name);
  const ctx = context(options);
  const finding = onlyViolation(await control.detect({ resource }, ctx));
  return { name, resource, ctx, finding, plan: control.plan(finding, ctx.options) };
}

describe("phi-tagged-non-production: registration and options", () => {
  it("is registered, critical, and asks for approval by default", () => {
    expect(controlById("phi-tagged-non-production")).toBe(control);
    expect(control.severity).toBe("critical");
    expect(control.defaultMode).toBe("approve");
    expect(control.category).toBe("tagging");
  });

  it("defaults to no break-glass roles and rejects anything but role ARNs, naming the field", () => {
    expect(control.options.parse({})).toEqual({ breakGlassRoles: [] });
    expect(control.options.parse({ breakGlassRoles: [BREAK_GLASS_ROLE, "arn:aws:iam::*:role/Incident*"] }).breakGlassRoles).toHaveLength(2);
    const result = control.options.safeParse({ breakGlassRoles: ["arn:aws:iam::123456789012:user/alice"] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["breakGlassRoles", 0]);
    expect(result.error?.issues[0]?.message).toContain("IAM role ARNs");
  });
});

describe("phi-tagged-non-production: triggers", () => {
  const trigger = (name: string) => {
    const found = control.triggers.find((t) => t.name === name);
    if (!found) throw new Error(`no trigger for ${name}`);
    return found;
  };
  const network: TestNetwork = { vpcId: "vpc-0a1b2c3d", subnetId: "subnet-0a1b2c3d", webGroupId: "sg-0a1b2c3d" };

  it("listens to CreateTags, RunInstances, PutBucketTagging and CreateBucket", () => {
    expect(control.triggers.map((t) => `${t.source} ${t.name}`)).toEqual([
      "ec2.amazonaws.com CreateTags",
      "ec2.amazonaws.com RunInstances",
      "s3.amazonaws.com PutBucketTagging",
      "s3.amazonaws.com CreateBucket",
    ]);
  });

  it("takes only instances from CreateTags, which also tags volumes, groups and AMIs", () => {
    const event = changeEventOf(
      createTagsRecord(["i-0aaa1111bbbb2222c", "vol-0123456789abcdef0", "sg-0a1b2c3d", "i-0aaa1111bbbb2222c"], PHI_DEV_MAP),
    );
    expect(trigger("CreateTags").resources(event)).toEqual([instance("i-0aaa1111bbbb2222c")]);
    expect(trigger("CreateTags").resources(changeEventOf(ec2Record("CreateTags", null)))).toEqual([]);
  });

  it("takes RunInstances only when it tags the instances at launch", () => {
    const launched = { InstanceId: "i-0ddd3333eeee4444f" };
    const tagged = changeEventOf(runInstancesRecord([launched], runInstancesRequest(network, { tags: PHI_DEV_MAP })));
    expect(trigger("RunInstances").resources(tagged)).toEqual([instance("i-0ddd3333eeee4444f")]);
    const untagged = changeEventOf(runInstancesRecord([launched], runInstancesRequest(network)));
    expect(trigger("RunInstances").resources(untagged)).toEqual([]);
    expect(trigger("RunInstances").resources(changeEventOf(runInstancesRecord([launched], null)))).toEqual([]);
  });

  it("reads bucket names as a scalar (newer records) or a list (older records), and tolerates null parameters", () => {
    const scalar = changeEventOf(putBucketTaggingRecord("phi-records", PHI_DEV_TAGS));
    expect(trigger("PutBucketTagging").resources(scalar)).toEqual([bucket("phi-records")]);
    const list = changeEventOf(putBucketTaggingRecord(["phi-records"], PHI_DEV_TAGS));
    expect(trigger("PutBucketTagging").resources(list)).toEqual([bucket("phi-records")]);
    const created = changeEventOf(
      cloudTrailRecord({
        eventSource: "s3.amazonaws.com",
        eventName: "CreateBucket",
        requestParameters: { bucketName: "phi-new", Host: "phi-new.s3.amazonaws.com" },
      }),
    );
    expect(trigger("CreateBucket").resources(created)).toEqual([bucket("phi-new")]);
    const empty = changeEventOf(cloudTrailRecord({ eventSource: "s3.amazonaws.com", eventName: "CreateBucket" }));
    expect(trigger("CreateBucket").resources(empty)).toEqual([]);
  });
});

describe("phi-tagged-non-production: detection against moto", () => {
  it("flags a bucket tagged as PHI and as dev, with the deciding tags as evidence", async () => {
    const name = await createBucket(s3, PHI_DEV_TAGS);
    const event = changeEventOf(putBucketTaggingRecord(name, PHI_DEV_TAGS));
    const finding = onlyViolation(await control.detect({ resource: bucket(name), event }, context()));
    expect(finding).toMatchObject({
      control: "phi-tagged-non-production",
      confirmed: true,
      tags: PHI_DEV_MAP,
      evidence: {
        phiTag: { key: "DataClassification", value: "PHI" },
        environmentTag: { key: "Environment", value: "dev" },
        tagsFrom: "live",
      },
      event: { id: event.id, name: "PutBucketTagging" },
    });
    expect(finding.summary).toBe(
      `Bucket ${name} is marked as holding PHI (DataClassification=PHI) but tagged as non-production (Environment=dev)`,
    );
  });

  it("compares values case-insensitively and knows every configured key", async () => {
    const name = await createBucket(s3, [
      { Key: "PHI", Value: "TRUE" },
      { Key: "Env", Value: "Sandbox" },
    ]);
    const finding = onlyViolation(await control.detect({ resource: bucket(name) }, context()));
    expect(finding.evidence).toMatchObject({ phiTag: { key: "PHI", value: "TRUE" }, environmentTag: { key: "Env", value: "Sandbox" } });
  });

  it("clears PHI in production, and non-production without PHI", async () => {
    const production = await createBucket(s3, PHI_PROD_TAGS);
    expect(onlyCleared(await control.detect({ resource: bucket(production) }, context()))).toContain("no longer tagged");
    const scratch = await createBucket(s3, [
      { Key: "DataClassification", Value: "internal" },
      { Key: "Environment", Value: "dev" },
    ]);
    expect(onlyCleared(await control.detect({ resource: bucket(scratch) }, context()))).toContain("no longer tagged");
  });

  it("judges the tags the bucket has now, not the ones in the event", async () => {
    // Event says PHI + dev, but the owner has retagged it prod since.
    const retagged = await createBucket(s3, PHI_PROD_TAGS);
    const stale = changeEventOf(putBucketTaggingRecord(retagged, PHI_DEV_TAGS));
    onlyCleared(await control.detect({ resource: bucket(retagged), event: stale }, context()));
    // CreateBucket carries no tags, but they landed a moment later.
    const fresh = await createBucket(s3, PHI_DEV_TAGS);
    const created = changeEventOf(
      cloudTrailRecord({ eventSource: "s3.amazonaws.com", eventName: "CreateBucket", requestParameters: { bucketName: fresh } }),
    );
    expect(onlyViolation(await control.detect({ resource: bucket(fresh), event: created }, context())).confirmed).toBe(true);
  });

  it("clears a bucket that is gone", async () => {
    const name = await createBucket(s3, PHI_DEV_TAGS);
    await s3.send(new DeleteBucketCommand({ Bucket: name }));
    expect(onlyCleared(await control.detect({ resource: bucket(name) }, context()))).toContain("no longer exists");
  });

  it("flags an instance tagged PHI and test, and clears it once retagged", async () => {
    const network = await createNetwork(ec2, "private");
    const launched = await launchInstance(ec2, network, { tags: { DataClassification: "PHI", Environment: "test" } });
    const resource = instance(launched.InstanceId);
    const finding = onlyViolation(await control.detect({ resource }, context()));
    expect(finding.summary).toContain(`Instance ${resource.id}`);
    expect(finding.evidence).toMatchObject({ environmentTag: { key: "Environment", value: "test" } });
    await ec2.send(new CreateTagsCommand({ Resources: [resource.id], Tags: [{ Key: "Environment", Value: "production" }] }));
    expect(onlyCleared(await control.detect({ resource }, context()))).toContain("no longer tagged");
  });

  it("rejects a resource type it does not handle", async () => {
    const volume: ResourceRef = {
      type: "AWS::EC2::Volume",
      id: "vol-1",
      arn: "arn:aws:ec2:::volume/vol-1",
      account: MOTO_ACCOUNT,
      region: MOTO_REGION,
    };
    await expect(control.detect({ resource: volume }, context())).rejects.toMatchObject({ name: "UnsupportedResourceError" });
  });
});

describe("phi-tagged-non-production: offline detection from the event's tags", () => {
  it("flags PutBucketTagging whose tags conflict, in the single-tag and list forms", async () => {
    const event = changeEventOf(putBucketTaggingRecord("phi-records", PHI_DEV_TAGS));
    const finding = onlyViolation(await control.detect({ resource: bucket("phi-records"), event }, offline()));
    expect(finding).toMatchObject({ confirmed: false, tags: PHI_DEV_MAP, evidence: { tagsFrom: "event" } });
    const onlyPhi = changeEventOf(putBucketTaggingRecord("phi-records", [{ Key: "DataClassification", Value: "PHI" }]));
    expect(await control.detect({ resource: bucket("phi-records"), event: onlyPhi }, offline())).toEqual([]);
  });

  it("flags CreateTags and tagged RunInstances on instances", async () => {
    const resource = instance("i-0aaa1111bbbb2222c");
    const tagged = changeEventOf(createTagsRecord([resource.id], { PHI: "true", Env: "development" }));
    expect(onlyViolation(await control.detect({ resource, event: tagged }, offline())).confirmed).toBe(false);
    const network: TestNetwork = { vpcId: "vpc-0a1b2c3d", subnetId: "subnet-0a1b2c3d", webGroupId: "sg-0a1b2c3d" };
    const launch = changeEventOf(runInstancesRecord([{ InstanceId: resource.id }], runInstancesRequest(network, { tags: PHI_DEV_MAP })));
    expect(onlyViolation(await control.detect({ resource, event: launch }, offline())).tags).toEqual(PHI_DEV_MAP);
  });

  it("says nothing without an event or without conflicting tags in it", async () => {
    expect(await control.detect({ resource: bucket("phi-records") }, offline())).toEqual([]);
    const resource = instance("i-0aaa1111bbbb2222c");
    const prod = changeEventOf(createTagsRecord([resource.id], { DataClassification: "PHI", Environment: "prod" }));
    expect(await control.detect({ resource, event: prod }, offline())).toEqual([]);
  });
});

describe("phi-tagged-non-production: plan", () => {
  it("is pure, and states the exact statement it will add", async () => {
    const { finding, ctx, name } = await violatingBucket({ breakGlassRoles: [BREAK_GLASS_ROLE] });
    const first = control.plan(finding, ctx.options);
    expect(canonicalJson(control.plan(structuredClone(finding), ctx.options))).toBe(canonicalJson(first));
    expect(first.params).toMatchObject({
      kind: "bucket",
      bucket: name,
      publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      statement: {
        Sid: LOCKDOWN_SID,
        Effect: "Deny",
        Principal: "*",
        Resource: [`arn:aws:s3:::${name}`, `arn:aws:s3:::${name}/*`],
        Condition: { ArnNotLike: { "aws:PrincipalArn": [BREAK_GLASS_ROLE] } },
      },
    });
    expect(first.summary).toContain(`everyone except ${BREAK_GLASS_ROLE}`);
    const noBreakGlass = control.plan(finding, control.options.parse({}));
    expect(noBreakGlass.params.kind === "bucket" && noBreakGlass.params.statement.Condition).toBeUndefined();
  });

  it("spares the policy's break-glass roles as well as the control's own, each once", async () => {
    const policyRole = `arn:aws:iam::${MOTO_ACCOUNT}:role/SecurityOnCall`;
    const name = await createBucket(s3, PHI_DEV_TAGS);
    const base = context({ breakGlassRoles: [BREAK_GLASS_ROLE] });
    const ctx = { ...base, tags: { ...base.tags, breakGlassRoles: [policyRole, BREAK_GLASS_ROLE] } };
    const finding = onlyViolation(await control.detect({ resource: bucket(name) }, ctx));
    expect(finding.evidence.policyBreakGlassRoles).toEqual([policyRole, BREAK_GLASS_ROLE]);
    const plan = control.plan(finding, ctx.options);
    expect(plan.params).toMatchObject({
      statement: { Condition: { ArnNotLike: { "aws:PrincipalArn": [policyRole, BREAK_GLASS_ROLE] } } },
    });
  });

  it("merges into a policy without disturbing its statements, and replaces an earlier lockdown statement", () => {
    const policy = JSON.stringify({ Version: "2012-10-17", Id: "keep-me", Statement: tlsOnlyStatement("b") });
    const statement = { Sid: LOCKDOWN_SID, Effect: "Deny", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" };
    const merged = mergeStatement(policy, statement, "b");
    expect(JSON.parse(merged)).toEqual({ Version: "2012-10-17", Id: "keep-me", Statement: [tlsOnlyStatement("b"), statement] });
    const again = JSON.parse(mergeStatement(merged, { ...statement, Action: "s3:PutObject" }, "b")) as { Statement: unknown[] };
    expect(again.Statement).toEqual([tlsOnlyStatement("b"), { ...statement, Action: "s3:PutObject" }]);
    expect(() => mergeStatement("{not json", statement, "b")).toThrow(/bucket b is not valid JSON/);
  });
});

describe("phi-tagged-non-production: bucket lockdown, verify and rollback against moto", () => {
  it("adds the deny statement to the existing policy, blocks public access, and verifies", async () => {
    const { name, resource, ctx, plan } = await violatingBucket({ breakGlassRoles: [BREAK_GLASS_ROLE] });
    const policyBefore = await policyOf(s3, name);
    const { before, after } = await control.apply(plan, ctx);
    expect(before).toEqual({ bucket: name, publicAccessBlock: null, policy: policyBefore });
    expect(after).toMatchObject({ publicAccessBlock: { BlockPublicAcls: true, RestrictPublicBuckets: true } });
    await scenario.assertFixed(moto, resource);

    const verified = await control.verify(plan, ctx);
    expect(verified.ok).toBe(true);
    expect(verified.state).toMatchObject({ lockdownStatement: { Sid: LOCKDOWN_SID } });
    expect(onlyCleared(await control.detect({ resource }, ctx))).toContain("already locked down");
  });

  it("rolls back to exactly the previous policy and public access block", async () => {
    const { name, ctx, plan } = await violatingBucket();
    const previousBlock = { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false };
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: name, PublicAccessBlockConfiguration: previousBlock }));
    const policyBefore = await policyOf(s3, name);
    const { before } = await control.apply(plan, ctx);
    expect(before).toEqual({ bucket: name, publicAccessBlock: previousBlock, policy: policyBefore });

    await control.rollback(plan, before, ctx);
    expect(await publicAccessBlockOf(s3, name)).toEqual(previousBlock);
    expect(await policyOf(s3, name)).toBe(policyBefore);
    expect((await control.verify(plan, ctx)).ok).toBe(false);
  });

  it("deletes what it created when the bucket had no policy and no public access block", async () => {
    const { name, ctx, plan } = await violatingBucket({}, null);
    const { before } = await control.apply(plan, ctx);
    expect(before).toEqual({ bucket: name, publicAccessBlock: null, policy: null });
    expect(await policyStatements(s3, name)).toEqual([plan.params.kind === "bucket" ? plan.params.statement : null]);
    await control.rollback(plan, before, ctx);
    expect(await policyOf(s3, name)).toBeNull();
    expect(await publicAccessBlockOf(s3, name)).toBeNull();
  });

  it("applied twice, leaves one lockdown statement and records no change the second time", async () => {
    const { name, ctx, plan } = await violatingBucket();
    await control.apply(plan, ctx);
    const again = await control.apply(plan, ctx);
    expect(again.after).toEqual(again.before);
    const sids = (await policyStatements(s3, name)).map((s) => s.Sid);
    expect(sids).toEqual(["DenyInsecureTransport", LOCKDOWN_SID]);
  });

  it("refuses to apply to a bucket deleted since detection", async () => {
    const { name, resource, ctx, plan } = await violatingBucket({}, null);
    await s3.send(new DeleteBucketCommand({ Bucket: name }));
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "ResourceGoneError" });
    expect(onlyCleared(await control.detect({ resource }, ctx))).toContain("no longer exists");
  });

  it("fails verification when someone removed the lockdown statement", async () => {
    const { name, ctx, plan } = await violatingBucket();
    await control.apply(plan, ctx);
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: name }));
    const verified = await control.verify(plan, ctx);
    expect(verified.ok).toBe(false);
    expect(verified.detail).toContain(LOCKDOWN_SID);
  });

  it("rejects a captured state for another bucket, naming the field", async () => {
    const { ctx, plan } = await violatingBucket();
    const other = { bucket: "someone-else", publicAccessBlock: null, policy: null };
    await expect(control.rollback(plan, other, ctx)).rejects.toThrow(/field bucket/);
    await expect(control.rollback(plan, { bucket: 42 }, ctx)).rejects.toMatchObject({ name: "InvalidControlDataError" });
  });
});

describe("phi-tagged-non-production: instance quarantine against moto", () => {
  it("quarantines a PHI instance tagged dev, verifies, and rolls back exactly", async () => {
    const network = await createNetwork(ec2, "private");
    const launched = await launchInstance(ec2, network, { tags: PHI_DEV_MAP });
    const resource = instance(launched.InstanceId);
    const ctx = context();
    const plan = control.plan(onlyViolation(await control.detect({ resource }, ctx)), ctx.options);
    expect(plan.params).toMatchObject({ kind: "instance", instanceId: resource.id, action: "quarantine" });
    expect(plan.summary).toContain(ISOLATION_GROUP_NAME);

    const groupsBefore = await instanceGroups(ec2, resource.id);
    const { before } = await control.apply(plan, ctx);
    await expectQuarantined(ec2, resource.id);
    expect(tagValue(await describeOne(ec2, resource.id), QUARANTINE_TAG_KEY)).toBe(`phi-tagged-non-production@${TEST_NOW.toISOString()}`);
    expect((await control.verify(plan, ctx)).ok).toBe(true);
    expect(onlyCleared(await control.detect({ resource }, ctx))).toContain("already quarantined");

    await control.rollback(plan, before, ctx);
    expect(await instanceGroups(ec2, resource.id)).toEqual(groupsBefore);
    expect(groupsBefore.map((g) => g.name)).toEqual([WEB_GROUP_NAME]);
    const restored = await describeOne(ec2, resource.id);
    expect(tagValue(restored, QUARANTINE_TAG_KEY)).toBeUndefined();
    expect(tagValue(restored, TEST_ENGINE_TAG)).toBeUndefined();
  });

  it("refuses to quarantine an instance terminated since detection", async () => {
    const network = await createNetwork(ec2, "private");
    const launched = await launchInstance(ec2, network, { tags: PHI_DEV_MAP });
    const resource = instance(launched.InstanceId);
    const ctx = context();
    const plan = control.plan(onlyViolation(await control.detect({ resource }, ctx)), ctx.options);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [resource.id] }));
    await expect(control.apply(plan, ctx)).rejects.toMatchObject({ name: "ResourceGoneError" });
  });
});

describe("phi-tagged-non-production: sweep", () => {
  it("lists buckets and live instances", async () => {
    const name = await createBucket(s3, []);
    const network = await createNetwork(ec2, "private");
    const launched = instance((await launchInstance(ec2, network)).InstanceId);
    const swept: ResourceRef[] = [];
    for await (const resource of control.sweep(context())) swept.push(resource);
    expect(swept).toEqual(expect.arrayContaining([bucket(name), launched]));
  });
});

describe("phi-tagged-non-production: end-to-end scenario", () => {
  it("arranges a real violation whose record names the real bucket; makeCompliant clears it", async () => {
    const { record, resource } = await scenario.arrangeViolation(moto);
    await scenario.assertUnchanged(moto, resource);
    const event = changeEventOf(record);
    expect(control.triggers.flatMap((t) => (t.name === event.name ? t.resources(event) : []))).toEqual([resource]);
    // Each detection is its own unit of work, as each event is to the engine: tags are read once per unit.
    onlyViolation(await control.detect({ resource, event }, context(scenario.options)));
    await scenario.makeCompliant(moto, resource);
    onlyCleared(await control.detect({ resource, event }, context(scenario.options)));
    await tagBucket(s3, resource.id, PHI_DEV_TAGS);
    const ctx = context(scenario.options);
    const plan = control.plan(onlyViolation(await control.detect({ resource, event }, ctx)), ctx.options);
    await control.apply(plan, ctx);
    await scenario.assertFixed(moto, resource);
  });
});
