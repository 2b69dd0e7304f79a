/**
 * The DynamoDB table behind the deployed remediation log. The infrastructure stack and createLogTable both build
 * the table from these constants, so the store and the stack cannot drift apart.
 *
 * One item per entry. Every entry of a chain shares the partition key, so "the head" is one consistent Query and
 * "the next seq is free" is one conditional PutItem: the conditional write is what serialises appenders.
 */
export const LOG_TABLE_KEYS = {
  partitionKey: { name: "chain", type: "S" },
  sortKey: { name: "seq", type: "N" },
} as const;

/** Sparse global secondary index: only entries with an eventId are indexed. Eventually consistent. */
export const LOG_BY_EVENT_INDEX = {
  indexName: "byEvent",
  partitionKey: { name: "eventId", type: "S" },
  sortKey: { name: "seq", type: "N" },
  projection: "ALL",
} as const;

/** Non-key attributes written with each item. `entry` holds the entry's canonical JSON, exactly as hashed. */
export const LOG_ITEM_ATTRIBUTES = {
  entry: "entry",
  hash: "hash",
  eventId: "eventId",
} as const;

/**
 * Every action DynamoDbLogStore takes on its table to append and read: the stack grants exactly these to each
 * function that appends, and a test holds the commands the store sends against them.
 */
export const LOG_APPEND_ACTIONS = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"] as const;

/** The chain (partition key value) used unless a store is given another name. */
export const DEFAULT_LOG_CHAIN = "remediation-log";
