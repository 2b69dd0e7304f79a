import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EngineDeps } from "@hipaa-remediate/core";
import { buildDeployedEngineDeps } from "../../packages/functions/src/wiring/deployed";
import { createDeployedTables, type DeployedTableNames } from "./deployed-tables";
import { MOTO_CREDENTIALS, MOTO_REGION } from "./moto";

/**
 * The deployed engine's wiring on an emulator: the tables the stacks create, a policy file, and the environment
 * the stack gives the engine function. Tests and the bench then build the engine's dependencies exactly as the
 * Lambda does, with a DynamoDB client of their own (one per simulated container, or one that counts its calls).
 */
export async function prepareDeployedEngine(endpoint: string, prefix: string, policyYaml: string): Promise<DeployedTableNames> {
  const dynamodb = new DynamoDBClient(emulatorConfig(endpoint));
  const tables = await createDeployedTables(dynamodb, prefix);
  dynamodb.destroy();
  const policyFile = join(mkdtempSync(join(tmpdir(), "hipaa-deployed-")), "policy.yaml");
  writeFileSync(policyFile, policyYaml);
  Object.assign(process.env, deployedEngineEnvironment(endpoint, tables, policyFile));
  return tables;
}

/** The environment the stack gives the engine function, pointed at the emulator's tables. */
export function deployedEngineEnvironment(endpoint: string, tables: DeployedTableNames, policyFile: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_REGION: MOTO_REGION,
    POLICY_FILE: policyFile,
    LOG_TABLE: tables.log,
    PROPOSALS_TABLE: tables.proposals,
    EXEMPTIONS_TABLE: tables.exemptions,
    IDEMPOTENCY_TABLE: tables.idempotency,
    RATE_LIMIT_TABLE: tables.rateLimit,
    ENGINE_ROLE_ARN: "arn:aws:iam::123456789012:role/prod-hipaa-remediate-engine",
    POWERTOOLS_LOG_LEVEL: "ERROR",
  };
}

export function emulatorConfig(endpoint: string) {
  return { endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, maxAttempts: 3 };
}

/** What one simulated engine container holds: its own DynamoDB client and the deps the Lambda builds from it. */
export interface DeployedContainer {
  deps: EngineDeps;
  dynamodb: DynamoDBClient;
  calls: DynamoDbCallCounter;
}

/** Builds one container's deps after prepareDeployedEngine, with a client whose calls are counted. */
export async function deployedContainer(endpoint: string): Promise<DeployedContainer> {
  const dynamodb = new DynamoDBClient(emulatorConfig(endpoint));
  emulatorAtomicConditionalWrites(dynamodb);
  const calls = countDynamoDbCalls(dynamodb);
  return { deps: await buildDeployedEngineDeps(dynamodb), dynamodb, calls };
}

export interface DynamoDbCallCounter {
  /** Calls per table, then per command (`PutItem`, `Query`, ...), since the last reset. */
  byTable(): Record<string, Record<string, number>>;
  total(): number;
  reset(): void;
}

/**
 * Counts every request the client sends, by table and command, through a middleware on the client itself: the
 * requests are real and reach the emulator unchanged. SDK-level retries of one command count once.
 */
export function countDynamoDbCalls(client: DynamoDBClient): DynamoDbCallCounter {
  let counts: Record<string, Record<string, number>> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? "unknown").replace(/Command$/, "");
      for (const table of tablesOf(args.input)) {
        const forTable = (counts[table] ??= {});
        forTable[command] = (forTable[command] ?? 0) + 1;
      }
      return next(args);
    },
    { step: "initialize", name: "dynamoDbCallCounter" },
  );
  return {
    byTable: () => counts,
    total: () => Object.values(counts).reduce((sum, commands) => sum + Object.values(commands).reduce((a, b) => a + b, 0), 0),
    reset: () => {
      counts = {};
    },
  };
}

/** The tables a request names: its TableName, or each table of a batch's RequestItems. */
function tablesOf(input: unknown): string[] {
  if (typeof input !== "object" || input === null) return ["(none)"];
  if ("TableName" in input) return [String(input.TableName)];
  if ("RequestItems" in input && typeof input.RequestItems === "object" && input.RequestItems !== null)
    return Object.keys(input.RequestItems);
  return ["(none)"];
}

/** The last conditional write issued to each table by any client in this process. */
const conditionalWrites = new Map<string, Promise<unknown>>();

/**
 * DynamoDB applies a conditional write atomically: of two writes conditioned on the same item being absent, one
 * fails. moto does not (see DESIGN.md, "Two simultaneous conditional writes to DynamoDB can both succeed"): under
 * concurrent consumers both land, the second silently replaces the first, and the log loses an entry or breaks its
 * chain, a fault of the emulator that the engine could not cause on DynamoDB. This middleware restores the
 * guarantee by sending the conditional writes to one table, from every client it is added to, one at a time (a
 * transaction waits for each table it names). moto keeps each table apart, so writes to different tables (a log
 * entry and the idempotency record) still run concurrently, as on DynamoDB, and so does everything else, including
 * the reads the engine races against.
 */
export function emulatorAtomicConditionalWrites(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!isConditionalWrite(String(context.commandName), args.input)) return next(args);
      const tables = tablesWritten(args.input);
      const turn = Promise.all(tables.map((table) => conditionalWrites.get(table) ?? Promise.resolve())).then(() => next(args));
      const settled = turn.catch(() => undefined);
      for (const table of tables) conditionalWrites.set(table, settled);
      return turn;
    },
    { step: "initialize", name: "emulatorAtomicConditionalWrites" },
  );
}

/** The tables a write names: its TableName, or those of a transaction's items. */
function tablesWritten(input: unknown): string[] {
  const named = (value: unknown): string[] =>
    typeof value === "object" && value !== null && "TableName" in value ? [String(value.TableName)] : [];
  const items: unknown = typeof input === "object" && input !== null && "TransactItems" in input ? input.TransactItems : undefined;
  if (!Array.isArray(items)) return named(input);
  const tables = items.flatMap((item: unknown) =>
    typeof item === "object" && item !== null ? Object.values(item).flatMap((operation: unknown) => named(operation)) : [],
  );
  return [...new Set(tables)];
}

function isConditionalWrite(command: string, input: unknown): boolean {
  if (command === "TransactWriteItemsCommand") return true;
  const writes = ["PutItemCommand", "UpdateItemCommand", "DeleteItemCommand"];
  return writes.includes(command) && typeof input === "object" && input !== null && "ConditionExpression" in input;
}
