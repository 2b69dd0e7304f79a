import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDbLogStore, DynamoDbProposalStore, type LogEntry } from "@hipaa-remediate/core";
import { beforeAll, describe, expect, it } from "vitest";
import { sampleProposal } from "../integration/approvals/fixtures";
import { createDeployedTables, type DeployedTableNames } from "../support/deployed-tables";
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto } from "../support/moto";

const moto = useMoto();

/** The scheduled housekeeping Lambda, wired from its environment as the Approvals stack sets it, on moto's DynamoDB. */
describe("the proposal housekeeping handler", () => {
  let tables: DeployedTableNames;
  let handler: () => Promise<{ expired: string[]; reminded: string[] }>;

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

    expect(await handler()).toEqual({ expired: [overdue.id], reminded: [] });
    expect(await handler()).toEqual({ expired: [], reminded: [] });

    expect((await proposals.get(overdue.id))?.status).toBe("expired");
    expect((await proposals.get(fresh.id))?.status).toBe("pending");
    const log = new DynamoDbLogStore({ client: dynamodb, tableName: tables.log });
    const entries: LogEntry[] = [];
    for await (const entry of log.read()) entries.push(entry);
    expect(entries.filter((e) => e.stage === "expired").map((e) => e.proposalId)).toEqual([overdue.id]);
  });
});
