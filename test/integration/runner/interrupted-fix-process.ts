/**
 * Run as a separate process by interrupted-fix.test.ts: the real engine handler, on a SQLite database file and
 * moto, handed one SQS record. At the named kill point of an automatic fix it SIGKILLs itself, as an out-of-memory
 * kill or a Lambda timeout would end it. The fault is injected by wrapping the engine's deps (the control, the
 * log), never by a hook in production code. Every S3 request is appended to a file as it is sent, so that the
 * test can count them across processes, including the one that died.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import {
  APPLIED_ENTRY_DEADLINE_MS,
  createAwsClients,
  openDatabase,
  parsePolicy,
  powertoolsGuard,
  SqliteIdempotencyStore,
  type AnyControl,
  type EngineDeps,
  type LogStore,
  type ProcessingGuard,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { Context } from "aws-lambda";
import { createEngineHandler } from "../../../packages/functions/src/engine";
import { crashChildEngineDeps } from "../../support/crash-child-engine";
import { interceptLogWrites } from "../../support/intercept-log-writes";
import { overrideMethods } from "../../support/override-methods";
import { die } from "../../support/process-death";
import { lambdaSqsRecord } from "../../support/sqs-lambda";
import { KILL_POINTS, type KillPoint } from "./kill-points";

const [dbPath, endpoint, bodyFile, killPoint, requestsFile, controlId, region, receiveCount] = process.argv.slice(2);
if (!dbPath || !endpoint || !bodyFile || !killPoint || !requestsFile || !controlId || !region || !receiveCount) {
  throw new Error("usage: <db path> <moto endpoint> <SQS body file> <kill point> <requests file> <control id> <region> <receive count>");
}
if (!(KILL_POINTS as readonly string[]).includes(killPoint)) throw new Error(`unknown kill point ${killPoint}`);
const at = killPoint as KillPoint;

const aws = createAwsClients({
  endpoint,
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  maxAttempts: 1,
  userAgent: "hipaa-remediate-crash-test",
});
(await aws.s3(region)).middlewareStack.add(
  (next, context) => async (args) => {
    // Written before the request leaves, synchronously: a kill right after it cannot lose the count.
    appendFileSync(requestsFile, `${String(context.commandName)}\n`);
    return next(args);
  },
  { step: "initialize", name: "countRequestsForCrashTest" },
);

/** The control, with the kill points around its apply and verify. */
function wrapControl(control: AnyControl): AnyControl {
  return {
    ...control,
    async apply(plan, ctx) {
      if (at === "before-apply") die();
      const applied = await control.apply(plan, ctx);
      if (at === "after-apply") die();
      return applied;
    },
    async verify(plan, ctx) {
      // A verify slower than the deadline, so that `applied` is written on its own before it.
      if (at === "after-applied" || at === "after-completed") await delay(APPLIED_ENTRY_DEADLINE_MS + 100);
      const verified = await control.verify(plan, ctx);
      if (at === "after-verify") die();
      return verified;
    },
  };
}

/** The log, with the kill points around the entries of the fix. */
/** Settled once the guard has completed the unit's idempotency record. */
let settleCompleted: () => void = () => undefined;
const recordCompleted = new Promise<void>((resolve) => (settleCompleted = resolve));

/** The guard, noting when it has completed a unit's record (after it, `once` returns). */
function wrapGuard(guard: ProcessingGuard): ProcessingGuard {
  return overrideMethods(guard, {
    async once<T extends object>(key: string, work: () => Promise<T>) {
      const result = await guard.once(key, work);
      settleCompleted();
      return result;
    },
  });
}

function wrapLog(log: LogStore): LogStore {
  return interceptLogWrites(log, {
    async before(draft) {
      if (at === "before-applying" && draft.stage === "applying") die();
      if (at === "after-completed" && draft.stage === "verified") {
        // Hold the entry back until the record is complete, then die: the record says done, the log does not.
        await recordCompleted;
        die();
      }
    },
    after(entry) {
      if ((at === "after-applied" && entry.stage === "applied") || (at === "after-verified" && entry.stage === "verified")) die();
    },
  });
}

const db = openDatabase(dbPath);
const policy = parsePolicy(JSON.stringify({ controls: { [controlId]: { mode: "auto" } } }), "crash test policy", controls);
const deps: EngineDeps = crashChildEngineDeps({
  db,
  policy,
  controlId,
  guard: wrapGuard(powertoolsGuard(new SqliteIdempotencyStore(db))),
  aws,
  region,
  wrap: { control: wrapControl, log: wrapLog },
});

// As Lambda would: by the time SQS redelivers (after the visibility timeout), this invocation's time is up, so its
// in-progress idempotency record has expired and the redelivery may take the work over.
const fail = (): never => {
  throw new Error("not used");
};
const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: "hipaa-remediate-engine",
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:${region}:123456789012:function:hipaa-remediate-engine`,
  memoryLimitInMB: "512",
  awsRequestId: "crash-test",
  logGroupName: "crash-test",
  logStreamName: "crash-test",
  getRemainingTimeInMillis: () => 1,
  done: fail,
  fail,
  succeed: fail,
};
const body = readFileSync(bodyFile, "utf8");
const queueArn = `arn:aws:sqs:${region}:123456789012:engine`;
const message = {
  MessageId: "crash-test-message",
  ReceiptHandle: "crash-test",
  Body: body,
  Attributes: { ApproximateReceiveCount: receiveCount },
};
const record = lambdaSqsRecord(message, queueArn);
const response = await createEngineHandler(async () => deps)({ Records: [record] }, context);
db.close();
process.stdout.write(JSON.stringify(response));
