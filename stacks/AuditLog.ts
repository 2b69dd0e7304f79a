import { LOG_BY_EVENT_INDEX, LOG_TABLE_KEYS } from "@hipaa-remediate/core";
import type { StackContext } from "sst/constructs";
import { durableTable } from "./lib/tables";

/** The append-only, hash-chained remediation log auditors rely on. Its key schema comes from the log store. */
export function AuditLog({ stack }: StackContext) {
  const log = durableTable(stack, "RemediationLog", {
    deletionProtection: true,
    partitionKey: LOG_TABLE_KEYS.partitionKey,
    sortKey: LOG_TABLE_KEYS.sortKey,
    globalIndexes: [
      {
        indexName: LOG_BY_EVENT_INDEX.indexName,
        partitionKey: LOG_BY_EVENT_INDEX.partitionKey,
        sortKey: LOG_BY_EVENT_INDEX.sortKey,
      },
    ],
  });
  stack.addOutputs({ LogTableName: log.table.tableName });
  return { log };
}
