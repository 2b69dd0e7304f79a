import { LOG_BY_EVENT_INDEX, LOG_TABLE_KEYS } from "@hipaa-remediate/core";
import type { StackContext } from "sst/constructs";
import { appendOnlyLogPolicy, auditArchive } from "./lib/audit-archive";
import { useDeployedPolicy } from "./lib/deployment";
import { durableTable } from "./lib/tables";

/**
 * The append-only, hash-chained remediation log auditors rely on, and its immutable archive. Its key schema comes
 * from the log store. The table keeps deletion protection and point-in-time recovery, and its resource policy
 * denies changing or deleting entries to every principal; anchors and exports in an Object Lock bucket keep the
 * evidence for the policy's retention period (six years by default) even against an account administrator.
 */
export function AuditLog({ app, stack }: StackContext) {
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
    resourcePolicy: appendOnlyLogPolicy(),
  });
  const archive = auditArchive(stack, log, useDeployedPolicy(app));
  stack.addOutputs({ LogTableName: log.table.tableName, AuditBucketName: archive.bucket.bucketName });
  return { log, archive };
}
