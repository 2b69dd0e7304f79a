import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDbLogStore,
  publishHead,
  S3AnchorStore,
  type Anchor,
  type AnchorStore,
  type LogStore,
  type Logger,
} from "@hipaa-remediate/core";
import { auditBucketClient, once, powertoolsLogger, requiredEnv } from "./wiring/runtime";

export interface LogAnchorDeps {
  log: Pick<LogStore, "head">;
  anchors: AnchorStore;
  now: () => Date;
  logger: Logger;
}

/**
 * The scheduled anchor: publishes the log's head to the Object Lock bucket, where nobody can delete or rewrite it
 * for the retention period. `log verify --anchors s3://<bucket>` then catches a deleted tail or a rewritten log.
 * The role may put objects under anchors/ and query the log table, nothing else: it cannot see what it published
 * before, so it publishes every time (an unchanged head adds a version of the same key).
 */
export function createLogAnchorHandler(getDeps: () => Promise<LogAnchorDeps>) {
  return async (): Promise<Anchor | null> => {
    const deps = await getDeps();
    const anchor = await publishHead(deps.log, deps.anchors, deps.now);
    deps.logger.info(anchor ? "anchored the log head" : "the log is empty: nothing to anchor", {
      ...(anchor ? { seq: anchor.seq, hash: anchor.hash } : {}),
      anchors: deps.anchors.location,
    });
    return anchor ?? null;
  };
}

async function deployedAnchorDeps(): Promise<LogAnchorDeps> {
  return {
    log: new DynamoDbLogStore({ client: new DynamoDBClient({}), tableName: requiredEnv("LOG_TABLE") }),
    anchors: new S3AnchorStore({ client: await auditBucketClient(), bucket: requiredEnv("AUDIT_BUCKET") }),
    now: () => new Date(),
    logger: powertoolsLogger(process.env.POWERTOOLS_SERVICE_NAME ?? "hipaa-remediate-log-anchor"),
  };
}

export const handler = createLogAnchorHandler(once(deployedAnchorDeps));
