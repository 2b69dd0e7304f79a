import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetBucketEncryptionCommand, ListBucketsCommand, PutBucketTaggingCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, type AssumeRoleCommandInput } from "@aws-sdk/client-sts";
import {
  accessDeniedMetricLine,
  createAwsClients,
  handleSqsRecord,
  normaliseRecord,
  openDatabase,
  processEvent,
  type AccessDenial,
  type AwsClients,
  type ChangeEvent,
  type EngineDeps,
  type LogEntry,
} from "@hipaa-remediate/core";
import { describe, expect, it } from "vitest";
import { cloudTrailRecord, eventBridgeEnvelope, iamUserIdentity } from "../../support/cloudtrail";
import { sqliteEngineDeps } from "../../support/engine-deps";
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, MOTO_REGION, useMoto } from "../../support/moto";

const moto = useMoto();
const MEMBER = "111111111111";
const OUTSIDER = "222222222222";
const MEMBER_ROLE = "hipaa-remediate-remediation";
const EXTERNAL_ID = "hipaa-remediate-test-external-id";
const ENGINE_ROLE = `arn:aws:iam::${MOTO_ACCOUNT}:role/hipaa-remediate-engine`;
const CONTROL = "s3-bucket-default-encryption";
const PHI = [{ Key: "DataClassification", Value: "PHI" }];

const POLICY = {
  controls: { [CONTROL]: { mode: "auto" } },
  scope: { regions: [MOTO_REGION], organization: { id: "o-a1b2c3d4e5", externalId: EXTERNAL_ID, accounts: [MEMBER] } },
};

/** The engine's clients as the deployment builds them: home account A (moto's default), member role in the others. */
function engineClients(denials: AccessDenial[]): AwsClients {
  return createAwsClients({
    endpoint: moto.endpoint,
    credentials: MOTO_CREDENTIALS,
    maxAttempts: 1,
    userAgent: "hipaa-remediate",
    accounts: {
      home: MOTO_ACCOUNT,
      homeRole: ENGINE_ROLE,
      stsRegion: MOTO_REGION,
      member: { roleName: MEMBER_ROLE, externalId: EXTERNAL_ID },
    },
    onAccessDenied: (denial) => denials.push(denial),
  });
}

function engineDeps(aws: AwsClients): EngineDeps {
  const deps = sqliteEngineDeps(openDatabase(join(mkdtempSync(join(tmpdir(), "hipaa-xacct-")), "engine.db")), { aws, policy: POLICY });
  return { ...deps, account: MOTO_ACCOUNT };
}

/** Test setup in account B goes through its own AssumeRole, not through the clients under test. */
async function s3InAccount(account: string): Promise<S3Client> {
  if (account === MOTO_ACCOUNT) return new S3Client({ ...moto.config, forcePathStyle: true });
  const sts = new STSClient(moto.config);
  const assumed = await sts.send(
    new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/test-setup`, RoleSessionName: "test-setup", ExternalId: "setup" }),
  );
  const credentials = assumed.Credentials;
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) throw new Error("moto answered AssumeRole without credentials");
  return new S3Client({
    ...moto.config,
    forcePathStyle: true,
    credentials: {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken ?? "",
    },
  });
}

async function phiBucket(s3: S3Client, name: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  await s3.send(new PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: PHI } }));
}

async function encryptionOf(s3: S3Client, bucket: string): Promise<string> {
  try {
    const answer = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    return answer.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? "none";
  } catch (error) {
    if (error instanceof Error && error.name === "ServerSideEncryptionConfigurationNotFoundError") return "none";
    throw error;
  }
}

/** The EventBridge envelope of a DeleteBucketEncryption call by alice, as it reaches the engine's queue. */
function deleteEncryptionEnvelope(bucket: string, account: string, region = MOTO_REGION, userAgent?: string): Record<string, unknown> {
  return eventBridgeEnvelope(
    cloudTrailRecord({
      eventSource: "s3.amazonaws.com",
      eventName: "DeleteBucketEncryption",
      account,
      awsRegion: region,
      userIdentity: iamUserIdentity("alice", account),
      requestParameters: { bucketName: bucket },
      ...(userAgent ? { userAgent } : {}),
    }),
  );
}

function deleteEncryptionEvent(bucket: string, account: string, region = MOTO_REGION, userAgent?: string): ChangeEvent {
  const result = normaliseRecord(deleteEncryptionEnvelope(bucket, account, region, userAgent), "test");
  if (result.kind !== "event") throw new Error(`not an event: ${JSON.stringify(result)}`);
  return result.event;
}

async function entriesOf(deps: EngineDeps): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for await (const entry of deps.log.read()) entries.push(entry);
  return entries;
}

describe("the engine in account A fixes account B through the member role", () => {
  it("fixes the bucket in B, with the member role's credentials and the ExternalId, and changes nothing in A", async () => {
    const suffix = randomUUID().slice(0, 8);
    const inMember = `xacct-b-${suffix}`;
    const inHome = `xacct-a-${suffix}`;
    const memberS3 = await s3InAccount(MEMBER);
    const homeS3 = await s3InAccount(MOTO_ACCOUNT);
    await phiBucket(memberS3, inMember);
    await phiBucket(homeS3, inHome);

    const denials: AccessDenial[] = [];
    const aws = engineClients(denials);
    const assumeRoles: AssumeRoleCommandInput[] = [];
    (await aws.sts(MOTO_REGION)).middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "AssumeRoleCommand") assumeRoles.push(args.input as AssumeRoleCommandInput);
        return next(args);
      },
      { step: "initialize", name: "recordAssumeRole" },
    );
    const deps = engineDeps(aws);

    const report = await processEvent(deleteEncryptionEvent(inMember, MEMBER), deps);
    expect(report).toMatchObject({ status: "processed", failures: 0, denied: 0 });
    expect(report.findings).toEqual([expect.objectContaining({ control: CONTROL, decision: "auto", outcome: "verified" })]);

    expect(await encryptionOf(memberS3, inMember)).toBe("AES256");
    expect(await encryptionOf(homeS3, inHome)).toBe("none");
    // The fixed bucket is B's: each account lists only its own buckets.
    const listed = async (s3: S3Client) => ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((bucket) => bucket.Name);
    expect(await listed(memberS3)).toContain(inMember);
    expect(await listed(homeS3)).not.toContain(inMember);

    // One AssumeRole for the whole event (detect, re-check, apply, verify): the credentials are cached.
    expect(assumeRoles).toEqual([
      expect.objectContaining({
        RoleArn: `arn:aws:iam::${MEMBER}:role/${MEMBER_ROLE}`,
        ExternalId: EXTERNAL_ID,
        RoleSessionName: "hipaa-remediate-engine",
      }),
    ]);
    const who = await (await aws.forAccount(MEMBER).sts(MOTO_REGION)).send(new GetCallerIdentityCommand({}));
    expect(who.Account).toBe(MEMBER);
    expect(who.Arn).toBe(`arn:aws:sts::${MEMBER}:assumed-role/${MEMBER_ROLE}/hipaa-remediate-engine`);
    expect(aws.forAccount(MOTO_ACCOUNT)).toBe(aws);
    expect(aws.forAccount(MEMBER)).toBe(aws.forAccount(MEMBER));

    const applied = (await entriesOf(deps)).find((e) => e.stage === "applied");
    expect(applied?.resource).toMatchObject({ account: MEMBER, id: inMember });
    expect(denials).toEqual([]);
  });

  it("records a missing member role as a failed entry and a metric, and does not hand the message back to SQS", async () => {
    const denials: AccessDenial[] = [];
    const aws = engineClients(denials);
    // moto lets any role be assumed, whether it exists or not: inject the answer AWS gives for a role that does not.
    (await aws.sts(MOTO_REGION)).middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "AssumeRoleCommand") {
          throw Object.assign(
            new Error(
              `User: ${ENGINE_ROLE} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${MEMBER}:role/${MEMBER_ROLE}`,
            ),
            { name: "AccessDenied" },
          );
        }
        return next(args);
      },
      { step: "initialize", name: "missingMemberRole" },
    );
    const deps = engineDeps(aws);
    const body = JSON.stringify(deleteEncryptionEnvelope(`xacct-missing-${randomUUID().slice(0, 8)}`, MEMBER));

    const report = await handleSqsRecord({ messageId: "m-1", body }, deps);
    expect(report).toMatchObject({ status: "processed", failures: 1, denied: 1 });

    const failed = (await entriesOf(deps)).filter((e) => e.stage === "failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]?.reason).toContain(`cannot act in account ${MEMBER}`);
    expect(failed[0]?.reason).toContain(`arn:aws:iam::${MEMBER}:role/${MEMBER_ROLE}`);
    expect(failed[0]?.reason).toContain("Deploy the member template");
    expect(failed[0]?.error).toMatchObject({ name: "AccessDenied" });

    expect(denials).toEqual([
      { kind: "assume-role", account: MEMBER, role: `arn:aws:iam::${MEMBER}:role/${MEMBER_ROLE}`, operation: "sts:AssumeRole" },
    ]);
    const metric = JSON.parse(accessDeniedMetricLine(denials[0] ?? { kind: "call", operation: "" }, new Date(0))) as Record<
      string,
      unknown
    >;
    expect(metric).toMatchObject({ AccessDenied: 1, Account: MEMBER, Kind: "assume-role" });
  });

  it("records an access-denied fix in the member account with the role to update, without a retry", async () => {
    const bucket = `xacct-denied-${randomUUID().slice(0, 8)}`;
    const memberS3 = await s3InAccount(MEMBER);
    await phiBucket(memberS3, bucket);
    const denials: AccessDenial[] = [];
    const aws = engineClients(denials);
    (await aws.forAccount(MEMBER).s3(MOTO_REGION)).middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "PutBucketEncryptionCommand") {
          throw Object.assign(new Error("User is not authorized to perform: s3:PutEncryptionConfiguration"), { name: "AccessDenied" });
        }
        return next(args);
      },
      { step: "initialize", name: "denyPutBucketEncryption", priority: "low" },
    );
    const deps = engineDeps(aws);
    const report = await processEvent(deleteEncryptionEvent(bucket, MEMBER), deps);
    expect(report.findings).toEqual([expect.objectContaining({ outcome: "failed" })]);
    const failed = (await entriesOf(deps)).find((e) => e.stage === "failed");
    expect(failed?.error?.name).toBe("AccessDenied");
    expect(failed?.error?.message).toContain(`role arn:aws:iam::${MEMBER}:role/${MEMBER_ROLE} in account ${MEMBER}`);
    expect(failed?.error?.message).toContain("redeploy the StackSet");
    expect(denials).toEqual([expect.objectContaining({ kind: "call", account: MEMBER, operation: "S3Client PutBucketEncryptionCommand" })]);
    expect(await encryptionOf(memberS3, bucket)).toBe("none");
  });
});

describe("events outside the policy's scope", () => {
  it("are logged as rejected with the reason, and nothing is read or changed", async () => {
    const denials: AccessDenial[] = [];
    const deps = engineDeps(engineClients(denials));
    const outsider = await processEvent(deleteEncryptionEvent("somebody-elses-bucket", OUTSIDER), deps);
    expect(outsider).toMatchObject({
      status: "rejected",
      reason: expect.stringContaining(`account ${OUTSIDER} is not in scope.organization.accounts`),
    });
    const farRegion = await processEvent(deleteEncryptionEvent("far-bucket", MEMBER, "ap-southeast-2"), deps);
    expect(farRegion).toMatchObject({
      status: "rejected",
      reason: expect.stringContaining("region ap-southeast-2 is outside the policy's scope"),
    });
    const entries = await entriesOf(deps);
    expect(entries.map((e) => [e.stage, e.details?.account, e.details?.region])).toEqual([
      ["rejected", OUTSIDER, MOTO_REGION],
      ["rejected", MEMBER, "ap-southeast-2"],
    ]);
  });
});

describe("the loop guard", () => {
  it("remediates a change that carries the engine's user agent but comes from someone else", async () => {
    const bucket = `spoofed-ua-${randomUUID().slice(0, 8)}`;
    await phiBucket(await s3InAccount(MOTO_ACCOUNT), bucket);
    const deps = engineDeps(engineClients([]));
    const spoofed = "aws-sdk-js/3.1169.0 ua/2.1 os/linux lang/js md/nodejs#20.20.2 api/s3#3.1169.0 hipaa-remediate";
    const report = await processEvent(deleteEncryptionEvent(bucket, MOTO_ACCOUNT, MOTO_REGION, spoofed), deps);
    expect(report.status).toBe("processed");
    expect(report.findings).toEqual([expect.objectContaining({ outcome: "verified" })]);
    expect(await encryptionOf(await s3InAccount(MOTO_ACCOUNT), bucket)).toBe("AES256");
  });
});
