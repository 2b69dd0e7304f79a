/**
 * The DynamoDB table behind the deployed remediation log. The infrastructure stack and createLogTable both build
 * the table from these constants, so the store and the stack cannot drift apart.
 *
 * One item per group of consecutive entries about one event (most items hold one entry), filed under the seq of
 * its first entry. Every item of a chain shares the partition key, so "the head" is one consistent Query and "the
 * next seq is free" is one conditional PutItem: the conditional write is what serialises appenders. An item is
 * only ever written at the seq after the last entry of an existing item, so items never overlap.
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

/**
 * Non-key attributes written with each item. `entry` holds the first entry's canonical JSON, exactly as hashed;
 * `more` the rest of a group's, in order. `hash` is the item's last entry's hash, and `lastSeq` its seq when the
 * item holds more than one entry: together they are the link the next item chains onto. An item of one entry has
 * neither `more` nor `lastSeq`, as every item had before groups.
 */
export const LOG_ITEM_ATTRIBUTES = {
  entry: "entry",
  more: "more",
  hash: "hash",
  lastSeq: "lastSeq",
  eventId: "eventId",
} as const;

/** Entries one item holds at most: a read from seq n starts this many seqs earlier, to find the item holding n. */
export const LOG_GROUP_MAX_ENTRIES = 16;

/**
 * What the stack grants each function that appends to the log: every action DynamoDbLogStore takes on its table to
 * append and read (a test holds the commands the store sends against this list), and GetItem, which it does not
 * send today.
 */
export const LOG_APPEND_ACTIONS = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"] as const;

/** The chain (partition key value) used unless a store is given another name. */
export const DEFAULT_LOG_CHAIN = "remediation-log";
