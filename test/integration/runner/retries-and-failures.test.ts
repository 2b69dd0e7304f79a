import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetBucketEncryptionCommand, PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import { createAwsClients, executePlan, openDatabase, type AwsClients, type EngineDeps, type Finding } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { afterEach, describe, expect, it } from "vitest";
import { bucketRef } from "../../../remediations/lib/arn";
import { sqliteEngineDeps } from "../../support/engine-deps";
import { startFaultProxy, type FaultProxy } from "../../support/fault-proxy";
import { MOTO_ACCOUNT, MOTO_CREDENTIALS, MOTO_REGION, useMoto } from "../../support/moto";

const moto = useMoto();
const control = controlById("s3-bucket-default-encryption");

function engineDeps(aws: AwsClients): EngineDeps {
  return sqliteEngineDeps(openDatabase(join(mkdtempSync(join(tmpdir(), "hipaa-runner-")), "engine.db")), { aws });
}

async function unencryptedBucket(): Promise<Finding> {
  const bucket = `retry-${randomUUID().slice(0, 8)}`;
  const s3 = await moto.clients.s3(MOTO_REGION);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: "DataClassification", Value: "PHI" }] } }));
  return {
    control: "s3-bucket-default-encryption",
    resource: bucketRef(bucket, MOTO_ACCOUNT, MOTO_REGION),
    summary: `Bucket ${bucket} has no default encryption`,
    evidence: {},
    confirmed: true,
    tags: {},
  };
}

describe("the runner against faults", () => {
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it("retries throttling and 5xx answers with backoff (the SDK's standard retry), then fixes the resource", async () => {
    if (!control) throw new Error("control not registered");
    const finding = await unencryptedBucket();
    proxy = await startFaultProxy(moto.endpoint, {
      failFirst: 3,
      status: 503,
      body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
    });
    // The engine's own client factory and retry settings, pointed at the faulty proxy.
    const aws = createAwsClients({ endpoint: proxy.url, credentials: MOTO_CREDENTIALS, userAgent: "hipaa-remediate" });
    const deps = engineDeps(aws);
    const plan = control.plan(finding, {});
    const outcome = await executePlan({ control, plan, finding }, deps);
    expect(outcome.status).toBe("verified");
    expect(proxy.faults).toBe(3);
    const encryption = await (await moto.clients.s3(MOTO_REGION)).send(new GetBucketEncryptionCommand({ Bucket: finding.resource.id }));
    expect(encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe("AES256");
  });

  it("records a failed apply with its error, and changes nothing", async () => {
    if (!control) throw new Error("control not registered");
    const finding = await unencryptedBucket();
    const aws = createAwsClients({ endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS, maxAttempts: 1, userAgent: "hipaa-remediate" });
    // Fault injection on a real client: the engine's role may not write the bucket's encryption.
    (await aws.s3(MOTO_REGION)).middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "PutBucketEncryptionCommand") {
          throw Object.assign(new Error("User is not authorized to perform: s3:PutEncryptionConfiguration"), { name: "AccessDenied" });
        }
        return next(args);
      },
      { step: "initialize", name: "denyPutBucketEncryption" },
    );
    const deps = engineDeps(aws);
    const outcome = await executePlan({ control, plan: control.plan(finding, {}), finding }, deps);
    expect(outcome).toMatchObject({ status: "failed", stage: "apply", error: { name: "AccessDenied" } });
    const entries = [];
    for await (const entry of deps.log.read()) entries.push(entry);
    expect(entries.map((e) => e.stage)).toEqual(["failed"]);
    expect(entries[0]).toMatchObject({ reason: "apply failed", error: { name: "AccessDenied" }, resource: { arn: finding.resource.arn } });
    await expect(
      (await moto.clients.s3(MOTO_REGION)).send(new GetBucketEncryptionCommand({ Bucket: finding.resource.id })),
    ).rejects.toMatchObject({ name: "ServerSideEncryptionConfigurationNotFoundError" });
  });

  it("gives up after the retry budget and records the failure instead of hanging", async () => {
    if (!control) throw new Error("control not registered");
    const finding = await unencryptedBucket();
    proxy = await startFaultProxy(moto.endpoint, {
      failFirst: 1_000,
      status: 500,
      body: "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>",
    });
    const aws = createAwsClients({ endpoint: proxy.url, credentials: MOTO_CREDENTIALS, maxAttempts: 2, userAgent: "hipaa-remediate" });
    const deps = engineDeps(aws);
    const outcome = await executePlan({ control, plan: control.plan(finding, {}), finding }, deps);
    expect(outcome).toMatchObject({ status: "failed", stage: "recheck" });
    expect(proxy.faults).toBe(2);
  });
});
