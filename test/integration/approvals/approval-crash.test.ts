import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execPath } from "node:process";
import {
  CreateBucketCommand,
  DeleteBucketEncryptionCommand,
  PutBucketEncryptionCommand,
  PutBucketTaggingCommand,
} from "@aws-sdk/client-s3";
import {
  APPLY_INTERRUPTED,
  APPLY_LEASE_MS,
  expireAndRemind,
  openDatabase,
  processEvent,
  silentLogger,
  verifyChain,
  type EngineDeps,
  type LogEntry,
  type SqliteDatabase,
} from "@hipaa-remediate/core";
import { afterAll, describe, expect, it } from "vitest";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { sqliteEngineDeps } from "../../support/engine-deps";
import { changeEventOf, policyFor } from "../../support/local-runner";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { bucketEncryption } from "./fixtures";
import type { ApprovalKillPoint } from "./approval-kill-points";

const moto = useMoto();
const CONTROL = "s3-bucket-default-encryption";
const APPROVER_ID = "U0CRASH";
const root = join(import.meta.dirname, "../../..");
const child = join(import.meta.dirname, "approval-crash-process.ts");
const dir = mkdtempSync(join(tmpdir(), "approval-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A PHI bucket whose default encryption was just deleted, and the CloudTrail record that reports it. */
async function arrangeViolation(): Promise<{ bucket: string; record: Record<string, unknown> }> {
  const s3 = await moto.clients.s3(MOTO_REGION);
  const bucket = `approval-crash-${randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: "DataClassification", Value: "PHI" }] } }));
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
    }),
  );
  await s3.send(new DeleteBucketEncryptionCommand({ Bucket: bucket }));
  const record = cloudTrailRecord({
    eventSource: "s3.amazonaws.com",
    eventName: "DeleteBucketEncryption",
    requestParameters: { bucketName: bucket, Host: `${bucket}.s3.amazonaws.com`, encryption: "" },
  });
  return { bucket, record };
}

function engineOn(db: SqliteDatabase, now?: () => Date): EngineDeps {
  return sqliteEngineDeps(db, { aws: moto.clients, policy: policyFor(CONTROL, "approve"), ...(now ? { now } : {}) });
}

/** The approval worker, in its own process, approving `proposalId` and killed at `killPoint`. */
function runApprovalWorker(
  dbPath: string,
  proposalId: string,
  killPoint: ApprovalKillPoint,
): Promise<{ signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Node itself runs the worker (tsx only as a loader), so the signal that ends it is what the test sees.
    const args = ["--import", "tsx", child, dbPath, moto.endpoint, proposalId, killPoint, CONTROL, MOTO_REGION, APPROVER_ID];
    const worker = spawn(execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    worker.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    worker.on("error", reject);
    worker.on("close", (_code, signal) => resolve({ signal, output }));
  });
}

/**
 * The proposal's entries as stages. The executor's own `applying` entry (its intent, written before it changes
 * anything) is left out: its story is the engine's crash test's, this one is about the proposal's outcome.
 */
const proposalStory = (entries: LogEntry[], proposalId: string) =>
  entries.filter((entry) => entry.proposalId === proposalId && entry.stage !== "applying").map((entry) => entry.stage);

interface Expected {
  status: "applied" | "failed";
  /** The proposal's entries after housekeeping, in order. */
  story: string[];
  encrypted: boolean;
  reason?: RegExp;
}

const CASES: Record<ApprovalKillPoint, Expected> = {
  "after-lease": {
    status: "failed",
    story: ["proposed", "failed"],
    encrypted: false,
    reason: /stopped before recording an outcome.*no applied entry/,
  },
  "after-approved-entry": { status: "failed", story: ["proposed", "approved", "failed"], encrypted: false, reason: /no applied entry/ },
  // The change reached AWS before the worker died: the log must not claim that nothing changed.
  "after-apply": {
    status: "failed",
    story: ["proposed", "approved", "failed"],
    encrypted: true,
    reason: /whether the change reached AWS is not known/,
  },
  "after-applied-entry": {
    status: "failed",
    story: ["proposed", "approved", "applied", "failed"],
    encrypted: true,
    reason: /after applying the fix .* before verifying it/,
  },
  // The worker logged the verified outcome: housekeeping takes the log's word and adds nothing.
  "after-verified-entry": { status: "applied", story: ["proposed", "approved", "applied", "verified"], encrypted: true },
};

describe("an approval worker killed mid-apply (SQLite + moto, real approval path)", () => {
  for (const [killPoint, expected] of Object.entries(CASES) as [ApprovalKillPoint, Expected][]) {
    it(`killed ${killPoint}: housekeeping resolves the proposal to ${expected.status} and the log tells the truth`, async () => {
      const dbPath = join(dir, `${killPoint}.db`);
      const { bucket, record } = await arrangeViolation();
      const s3 = await moto.clients.s3(MOTO_REGION);

      let db = openDatabase(dbPath);
      const report = await processEvent(changeEventOf(record), engineOn(db));
      const proposalId = report.findings[0]?.proposalId;
      expect(report.findings[0]?.outcome).toBe("proposed");
      if (!proposalId) throw new Error("no proposal was made");
      db.close();

      const worker = await runApprovalWorker(dbPath, proposalId, killPoint);
      expect(worker.signal, `the worker was not killed: ${worker.output}`).toBe("SIGKILL");

      db = openDatabase(dbPath);
      try {
        const engine = engineOn(db);
        const stranded = await engine.proposals.get(proposalId);
        expect(stranded).toMatchObject({
          status: "applying",
          decidedBy: { id: APPROVER_ID },
          leaseHolder: expect.stringMatching(/^approval:/),
        });

        // While it is applying, a new event for the same control and resource makes no second proposal.
        const again = await processEvent(changeEventOf({ ...record, eventID: randomUUID() }), engine);
        expect(again.findings.map((f) => f.outcome)).toEqual(expected.encrypted ? [] : ["already-proposed"]);

        // Housekeeping before the lease runs out leaves it alone: the worker may still be alive.
        const early = await expireAndRemind(housekeepingDeps(engine, new Date()), { reminderAfterMs: Number.MAX_SAFE_INTEGER });
        expect(early.resolved).toEqual([]);

        const later = new Date(Date.parse(stranded?.leaseExpiresAt ?? "") + 60_000);
        const result = await expireAndRemind(housekeepingDeps(engine, later), { reminderAfterMs: Number.MAX_SAFE_INTEGER });
        expect(result.resolved).toEqual([{ proposalId, status: expected.status }]);
        const resolved = await engine.proposals.get(proposalId);
        expect(resolved?.status).toBe(expected.status);
        expect(resolved?.leaseHolder).toMatch(/^housekeeping:/);

        const entries: LogEntry[] = [];
        for await (const entry of engine.log.read()) entries.push(entry);
        expect(await verifyChain(entries)).toMatchObject({ ok: true });
        expect(proposalStory(entries, proposalId)).toEqual(expected.story);
        const last = entries.filter((entry) => entry.proposalId === proposalId).at(-1);
        if (expected.reason) {
          expect(last).toMatchObject({ stage: "failed", error: { name: APPLY_INTERRUPTED }, decidedBy: { id: APPROVER_ID } });
          expect(last?.reason).toMatch(expected.reason);
        }
        expect((await bucketEncryption(s3, bucket)) === "AES256").toBe(expected.encrypted);

        // A second run finds nothing left to resolve and writes nothing.
        const head = await engine.log.head();
        const rerun = await expireAndRemind(housekeepingDeps(engine, new Date(later.getTime() + APPLY_LEASE_MS * 2)), {
          reminderAfterMs: Number.MAX_SAFE_INTEGER,
        });
        expect(rerun.resolved).toEqual([]);
        expect((await engine.log.head())?.seq).toBe(head?.seq);
      } finally {
        db.close();
      }
    });
  }
});

function housekeepingDeps(engine: EngineDeps, now: Date) {
  return {
    proposals: engine.proposals,
    log: engine.log,
    now: () => now,
    logger: silentLogger,
    describeControl: (id: string) => engine.index.byId(id),
  };
}
