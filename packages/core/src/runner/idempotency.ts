import { createHash } from "node:crypto";
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { Context } from "aws-lambda";

/** The deployed idempotency table: Powertools' DynamoDB persistence layer defaults (key `id`, TTL `expiration`). */
export const IDEMPOTENCY_TABLE_KEYS = {
  partitionKey: { name: "id", type: "S" },
  timeToLiveAttribute: "expiration",
} as const;

/** Records are kept longer than SQS's maximum retention (14 days), so any redelivery is still recognised. */
export const IDEMPOTENCY_TTL_SECONDS = 30 * 24 * 60 * 60;

/** `replayed`: this key had already been processed, and `work` did not run again. */
export type GuardedResult<T extends object> = { replayed: true } | { replayed: false; result: T };

/**
 * Runs a unit of work at most once per key. Results must be JSON-serialisable: they are stored. A failed run leaves no record, so a retry can try again; a run
 * in progress elsewhere makes the caller fail with IdempotencyAlreadyInProgressError, so the message is
 * retried later instead of acting twice.
 */
export interface ProcessingGuard {
  once<T extends object>(key: string, work: () => Promise<T>): Promise<GuardedResult<T>>;
  /**
   * Inside Lambda: an in-progress record then expires when the invocation would time out, so a crashed
   * invocation does not block the retry for the whole record lifetime.
   */
  registerLambdaContext(context: Context): void;
}

/** How long an in-progress record blocks others outside Lambda, when a local process dies mid-way. */
export const LOCAL_IN_PROGRESS_TIMEOUT_MS = 15 * 60 * 1000;

/** A stand-in Lambda context for local runs: only the remaining time matters to idempotency. */
function localContext(): Context {
  const fail = (): never => {
    throw new Error("not running in Lambda");
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "hipaa-remediate-local",
    functionVersion: "$LATEST",
    invokedFunctionArn: "local",
    memoryLimitInMB: "0",
    awsRequestId: "local",
    logGroupName: "local",
    logStreamName: "local",
    getRemainingTimeInMillis: () => LOCAL_IN_PROGRESS_TIMEOUT_MS,
    done: fail,
    fail,
    succeed: fail,
  };
}

interface GuardPayload {
  key: string;
}

/** Powertools idempotency over any of its persistence layers (DynamoDB deployed, SQLite locally). */
export function powertoolsGuard(persistenceStore: BasePersistenceLayer, ttlSeconds = IDEMPOTENCY_TTL_SECONDS): ProcessingGuard {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: "key",
    expiresAfterSeconds: ttlSeconds,
    // Marks results served from the store, so the runner can log the redelivery instead of acting on it.
    responseHook: (response) => ({ replayed: true, result: (response as { result: object }).result }) as never,
  });
  config.registerLambdaContext(localContext());
  const run = makeIdempotent(async (_payload: GuardPayload, work: () => Promise<object>) => ({ replayed: false, result: await work() }), {
    persistenceStore,
    config,
    dataIndexArgument: 0,
  });
  return {
    async once<T extends object>(key: string, work: () => Promise<T>) {
      return (await run({ key }, work)) as GuardedResult<T>;
    },
    registerLambdaContext: (context) => config.registerLambdaContext(context),
  };
}

/**
 * A guard that remembers keys for the life of the process only. For offline replay, where nothing is changed:
 * it still collapses duplicate deliveries inside one run, and a second replay of the same files reports again.
 */
export function inMemoryGuard(): ProcessingGuard {
  // Digests, not keys: a replay of millions of records keeps ~28 bytes per processed key.
  const done = new Set<string>();
  const digest = (key: string) => createHash("sha1").update(key).digest("base64");
  return {
    async once<T extends object>(key: string, work: () => Promise<T>): Promise<GuardedResult<T>> {
      const id = digest(key);
      if (done.has(id)) return { replayed: true };
      const result = await work();
      done.add(id);
      return { replayed: false, result };
    },
    registerLambdaContext() {},
  };
}
