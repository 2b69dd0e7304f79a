import { CreateTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  createLogTable,
  EXEMPTIONS_TABLE_KEYS,
  IDEMPOTENCY_TABLE_KEYS,
  PROPOSALS_TABLE_KEYS,
  RATE_LIMIT_TABLE_SCHEMA,
} from "@hipaa-remediate/core";

/**
 * The deployed tables, created in the emulator from the same key-schema constants the infrastructure stack
 * uses, so the stack, the adapters and these tests cannot drift apart.
 */
type Key = { readonly name: string; readonly type: "S" | "N" };

async function createTable(
  client: DynamoDBClient,
  tableName: string,
  partitionKey: Key,
  index?: { name: string; partitionKey: Key; sortKey: Key },
): Promise<void> {
  const attributes = new Map<string, Key>([[partitionKey.name, partitionKey]]);
  if (index) {
    attributes.set(index.partitionKey.name, index.partitionKey);
    attributes.set(index.sortKey.name, index.sortKey);
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [...attributes.values()].map((key) => ({ AttributeName: key.name, AttributeType: key.type })),
      KeySchema: [{ AttributeName: partitionKey.name, KeyType: "HASH" }],
      ...(index
        ? {
            GlobalSecondaryIndexes: [
              {
                IndexName: index.name,
                KeySchema: [
                  { AttributeName: index.partitionKey.name, KeyType: "HASH" },
                  { AttributeName: index.sortKey.name, KeyType: "RANGE" },
                ],
                Projection: { ProjectionType: "ALL" },
              },
            ],
          }
        : {}),
    }),
  );
}

export function createProposalsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  return createTable(client, tableName, PROPOSALS_TABLE_KEYS.partitionKey, PROPOSALS_TABLE_KEYS.byStatusIndex);
}

export function createExemptionsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  return createTable(client, tableName, EXEMPTIONS_TABLE_KEYS.partitionKey);
}

export function createIdempotencyTable(client: DynamoDBClient, tableName: string): Promise<void> {
  return createTable(client, tableName, IDEMPOTENCY_TABLE_KEYS.partitionKey);
}

export function createRateLimitTable(client: DynamoDBClient, tableName: string): Promise<void> {
  return createTable(client, tableName, RATE_LIMIT_TABLE_SCHEMA.partitionKey);
}

export interface DeployedTableNames {
  log: string;
  proposals: string;
  exemptions: string;
  idempotency: string;
  rateLimit: string;
}

/** Every table the engine functions use, as the State and AuditLog stacks create them. */
export async function createDeployedTables(client: DynamoDBClient, prefix: string): Promise<DeployedTableNames> {
  const names = {
    log: `${prefix}-log`,
    proposals: `${prefix}-proposals`,
    exemptions: `${prefix}-exemptions`,
    idempotency: `${prefix}-idempotency`,
    rateLimit: `${prefix}-rate-limit`,
  };
  await createLogTable(client, names.log);
  await createProposalsTable(client, names.proposals);
  await createExemptionsTable(client, names.exemptions);
  await createIdempotencyTable(client, names.idempotency);
  await createRateLimitTable(client, names.rateLimit);
  return names;
}
