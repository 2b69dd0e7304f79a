import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  APPLY_INTERRUPTED,
  DynamoDbLogStore,
  DynamoDbProposalStore,
  type ExpireAndRemindResult,
  type LogEntry,
} from "@hipaa-remediate/core";
import { beforeAll, describe, expect, it } from "vitest";
import { sampleProposal } from "../integration/approvals/fixtures";
import { createDeployedTables, type DeployedTableNames } from "../support/deployed-tables";
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto } from "../support/moto";

const moto = useMoto();

/** The scheduled housekeeping Lambda, wired from its environment as the Approvals stack sets it, on moto's DynamoDB. */
describe("the proposal housekeeping handler", () => {
  let tables: DeployedTableNames;
  let handler: () => Promise<ExpireAndRemindResult>;

  beforeAll(async () => {
    tables = await createDeployedTables(new DynamoDBClient(moto.config), "housekeeping");
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_REGION: MOTO_REGION,
      LOG_TABLE: tables.log,
      PROPOSALS_TABLE: tables.proposals,
      POWERTOOLS_LOG_LEVEL: "ERROR",
    });
    const module = await import("../../packages/functions/src/proposal-housekeeping");
    handler = () => module.handler();
  });

  it("expires overdue proposals, logs each expiry once, and leaves fresh ones pending", async () => {
    const dynamodb = new DynamoDBClient(moto.config);
    const proposals = new DynamoDbProposalStore(dynamodb, tables.proposals);
    const now = Date.now();
    const overdue = sampleProposal("phi-overdue", new Date(now - 30 * 3_600_000));
    const fresh = sampleProposal("phi-fresh", new Date(now - 60_000));
    await proposals.create(overdue);
    await proposals.create(fresh);

    expect(await handler()).toEqual({ expired: [overdue.id], reminded: [], resolved: [] });
    expect(await handler()).toEqual({ expired: [], reminded: [], resolved: [] });

    expect((await proposals.get(overdue.id))?.status).toBe("expired");
    expect((await proposals.get(fresh.id))?.status).toBe("pending");
    const log = new DynamoDbLogStore({ client: dynamodb, tableName: tables.log });
    const entries: LogEntry[] = [];
    for await (const entry of log.read()) entries.push(entry);
    expect(entries.filter((e) => e.stage === "expired").map((e) => e.proposalId)).toEqual([overdue.id]);
  });

  it("closes approvals whose worker died mid-apply, and leaves the ones whose lease still runs", async () => {
    const dynamodb = new DynamoDBClient(moto.config);
    const proposals = new DynamoDbProposalStore(dynamodb, tables.proposals);
    const now = Date.now();
    const decidedBy = { id: "U0APPROVER", name: "dana", via: "slack" as const };
    const approvedAt = new Date(now - 2 * 3_600_000);
    const dead = sampleProposal("phi-dead-worker", approvedAt, {
      status: "applying",
      decidedBy,
      decidedAt: approvedAt.toISOString(),
      leaseHolder: "approval:2026/12/02/[$LATEST]dead:1",
      leaseExpiresAt: new Date(now - 3_600_000).toISOString(),
    });
    const live = sampleProposal("phi-live-worker", new Date(now - 60_000), {
      status: "applying",
      decidedBy,
      leaseHolder: "approval:2026/12/02/[$LATEST]live:2",
      leaseExpiresAt: new Date(now + 15 * 60_000).toISOString(),
    });
    // Approved by a version without leases, and never finished.
    const legacy = sampleProposal("phi-legacy-approved", approvedAt, {
      status: "approved",
      decidedBy,
      decidedAt: approvedAt.toISOString(),
    });
    for (const proposal of [dead, live, legacy]) await proposals.create(proposal);

    const result = await handler();
    expect(result.resolved).toEqual([
      { proposalId: dead.id, status: "failed" },
      { proposalId: legacy.id, status: "failed" },
    ]);
    expect((await handler()).resolved).toEqual([]);

    expect((await proposals.get(dead.id))?.status).toBe("failed");
    expect((await proposals.get(legacy.id))?.status).toBe("failed");
    expect(await proposals.get(live.id)).toEqual(live);
    const log = new DynamoDbLogStore({ client: dynamodb, tableName: tables.log });
    const failures: LogEntry[] = [];
    for await (const entry of log.read()) if (entry.stage === "failed") failures.push(entry);
    expect(failures.map((e) => e.proposalId)).toEqual([dead.id, legacy.id]);
    for (const failure of failures) {
      expect(failure).toMatchObject({ error: { name: APPLY_INTERRUPTED }, decidedBy });
      expect(failure.reason).toMatch(/stopped before recording an outcome.*whether the change reached AWS is not known/);
    }
  });
});
