import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetBucketEncryptionCommand, PutBucketEncryptionCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  ApproverDirectory,
  SqliteExemptionStore,
  SqliteLogStore,
  SqliteProposalStore,
  hashCanonical,
  openDatabase,
  silentLogger,
  type ApprovalDeps,
  type ControlSummary,
  type ExecuteApprovedPlan,
  type ExecutionOutcome,
  type Plan,
  type Proposal,
  type SqliteDatabase,
} from "@hipaa-remediate/core";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "../../support/moto";
import type { SlackRecorder } from "../../support/slack-recorder";

export const CONTROL: ControlSummary = {
  id: "s3-bucket-default-encryption",
  title: "S3 bucket default encryption",
  hipaa: {
    sections: ["164.312(a)(2)(iv)", "164.312(c)(1)"],
    why: "PHI at rest must be encrypted so a leaked disk or snapshot is unreadable.",
  },
};

export const APPROVER = { id: "U0APPROVER", name: "dana" };
export const SECOND_APPROVER = { id: "U0SECOND", name: "sam" };
export const OUTSIDER = { id: "U0OUTSIDER", name: "mallory" };
export const GROUP_MEMBER = { id: "U0GROUPIE", name: "grace" };
export const APPROVER_GROUP = "S0SECURITY";

/** A pending proposal to turn on default encryption for `bucket`, created at `createdAt`, expiring a day later. */
export function sampleProposal(bucket: string, createdAt: Date, overrides: Partial<Proposal> = {}): Proposal {
  const resource = {
    type: "AWS::S3::Bucket",
    id: bucket,
    arn: `arn:aws:s3:::${bucket}`,
    account: MOTO_ACCOUNT,
    region: MOTO_REGION,
  };
  const plan: Plan = {
    control: CONTROL.id,
    resource,
    summary: `Turn on default encryption (SSE-S3) for bucket ${bucket}`,
    steps: [`Set the default encryption of bucket ${bucket} to SSE-S3 (AES-256)`],
    reversible: true,
    params: { bucket, algorithm: "AES256" },
  };
  return {
    id: `prop-${bucket}`,
    createdAt: createdAt.toISOString(),
    expiresAt: new Date(createdAt.getTime() + 24 * 3_600_000).toISOString(),
    status: "pending",
    control: CONTROL.id,
    finding: {
      control: CONTROL.id,
      resource,
      summary: `Bucket ${bucket} has no default encryption`,
      evidence: { bucket, ServerSideEncryptionConfiguration: null, tags: { DataClassification: "phi" } },
      confirmed: true,
      tags: { DataClassification: "phi" },
      event: {
        id: `evt-${bucket}`,
        name: "DeleteBucketEncryption",
        source: "s3.amazonaws.com",
        time: new Date(createdAt.getTime() - 60_000).toISOString(),
        actor: `arn:aws:iam::${MOTO_ACCOUNT}:user/alice`,
      },
    },
    plan,
    planHash: hashCanonical(plan),
    eventId: `evt-${bucket}`,
    slack: { channel: "C0APPROVALS", ts: "1700000000.000001" },
    ...overrides,
  };
}

export async function createUnencryptedBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function bucketEncryption(s3: S3Client, bucket: string): Promise<string | undefined> {
  try {
    const result = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    return result.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm;
  } catch (error) {
    if (error instanceof Error && error.name === "ServerSideEncryptionConfigurationNotFoundError") return undefined;
    throw error;
  }
}

/**
 * A real executor for the tests: re-checks the bucket in moto, applies PutBucketEncryption, reads it back, and
 * reports an ExecutionOutcome exactly as the engine's executor does.
 */
export function s3EncryptionExecutor(client: S3Client | Promise<S3Client>): ExecuteApprovedPlan {
  return async (proposal): Promise<ExecutionOutcome> => {
    const s3 = await client;
    const bucket = String(proposal.plan.params.bucket);
    const before = await bucketEncryption(s3, bucket);
    if (before) return { status: "no-longer-applies", reason: `bucket ${bucket} is already encrypted with ${before}` };
    try {
      await s3.send(
        new PutBucketEncryptionCommand({
          Bucket: bucket,
          ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
        }),
      );
    } catch (error) {
      const name = error instanceof Error ? error.name : "Error";
      return { status: "failed", stage: "apply", error: { name, message: String(error) } };
    }
    const after = await bucketEncryption(s3, bucket);
    if (after !== "AES256") {
      return { status: "failed", stage: "verify", error: { name: "VerificationFailed", message: `found ${after ?? "none"}` } };
    }
    return { status: "verified", before: { SSEAlgorithm: null }, after: { SSEAlgorithm: after } };
  };
}

export interface TempDatabase {
  db: SqliteDatabase;
  cleanup(): void;
}

export function tempDatabase(): TempDatabase {
  const dir = mkdtempSync(join(tmpdir(), "approvals-"));
  const db = openDatabase(join(dir, "engine.db"));
  return {
    db,
    cleanup: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LocalApprovals {
  deps: ApprovalDeps;
  proposals: SqliteProposalStore;
  log: SqliteLogStore;
  exemptions: SqliteExemptionStore;
  clock: { now: Date };
  cleanup(): void;
}

/** Approval dependencies over SQLite on a temp file, the recorder for Slack and moto S3 for the fix. */
export function localApprovals(moto: Moto, recorder: SlackRecorder, execute?: ExecuteApprovedPlan): LocalApprovals {
  const temp = tempDatabase();
  const clock = { now: new Date("2025-03-01T12:00:00Z") };
  const now = () => clock.now;
  const slack = recorder.client();
  const proposals = new SqliteProposalStore(temp.db);
  const log = new SqliteLogStore(temp.db);
  const exemptions = new SqliteExemptionStore(temp.db);
  return {
    deps: {
      proposals,
      log,
      slack,
      approvers: new ApproverDirectory({ users: [APPROVER.id, SECOND_APPROVER.id], userGroups: [APPROVER_GROUP] }, { slack, now }),
      now,
      execute: execute ?? s3EncryptionExecutor(moto.clients.s3(MOTO_REGION)),
      exemptions,
      logger: silentLogger,
      describeControl: (id) => (id === CONTROL.id ? CONTROL : undefined),
    },
    proposals,
    log,
    exemptions,
    clock,
    cleanup: temp.cleanup,
  };
}

export { createExemptionsTable, createProposalsTable } from "../../support/deployed-tables";
