import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDbLogStore, S3LogArchive, type ArchiveResult, type LogStore, type Logger } from "@hipaa-remediate/core";
import { auditBucketClient, once, powertoolsLogger, requiredEnv } from "./wiring/runtime";

export interface LogExportDeps {
  log: Pick<LogStore, "read">;
  archive: S3LogArchive;
  logger: Logger;
}

/**
 * The scheduled export: every log entry appended since the last export goes to the Object Lock bucket as JSON
 * lines, the form `log restore` reads. Six years of immutable history, beyond what the table's 35 days of
 * point-in-time recovery and its deletion protection give. A table changed since the last export fails the run
 * (ArchiveContinuityError, visible as a Lambda error) and nothing is exported on top of the forgery.
 */
export function createLogExportHandler(getDeps: () => Promise<LogExportDeps>) {
  return async (): Promise<ArchiveResult> => {
    const deps = await getDeps();
    const result = await deps.archive.exportNew(deps.log);
    deps.logger.info("exported the log", { exported: result.exported, objects: result.keys, since: result.since?.seq });
    return result;
  };
}

async function deployedExportDeps(): Promise<LogExportDeps> {
  return {
    log: new DynamoDbLogStore({ client: new DynamoDBClient({}), tableName: requiredEnv("LOG_TABLE") }),
    archive: new S3LogArchive({ client: await auditBucketClient(), bucket: requiredEnv("AUDIT_BUCKET") }),
    logger: powertoolsLogger(process.env.POWERTOOLS_SERVICE_NAME ?? "hipaa-remediate-log-export"),
  };
}

export const handler = createLogExportHandler(once(deployedExportDeps));
