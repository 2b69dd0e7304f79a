// The SDK warns on every Node 20 process about its 2027 support window; the bench output is a table, not a log.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import {
  ControlIndex,
  createAwsClients,
  engineIdentity,
  inMemoryGuard,
  openDatabase,
  parsePolicy,
  runSweep,
  silentLogger,
  SqliteLogStore,
  SqliteProposalStore,
  SqliteRateLimiter,
  type AnyControl,
  type AwsClients,
  type EngineDeps,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { startMotoServer, type RunningMoto } from "../test/support/moto-server";

/**
 * The sweep must not slow down as the catalog grows: each resource type is listed once per region and each
 * resource's tags read once, for every control of that type. This case sweeps the same buckets with one bucket
 * control and with every bucket control, side by side, on the emulator, and counts the S3 requests of each.
 */

const REGION = "us-east-1";
const ACCOUNT = "123456789012";

export interface SweepRun {
  controls: string[];
  seconds: number;
  resources: number;
  findings: number;
  s3Requests: number;
  requestsByCommand: Record<string, number>;
}

export interface SweepBenchResult {
  buckets: number;
  one: SweepRun;
  all: SweepRun;
  ratio: number;
}

/** Counts every S3 request the engine's client sends, by command, without changing it. */
async function countS3Requests(aws: AwsClients): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  (await aws.s3(REGION)).middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName ?? "unknown");
      counts[command] = (counts[command] ?? 0) + 1;
      return next(args);
    },
    { step: "initialize", name: "benchRequestCounter" },
  );
  return counts;
}

async function createBuckets(endpoint: string, count: number): Promise<void> {
  const aws = createAwsClients({
    endpoint,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    maxAttempts: 3,
    userAgent: "bench",
  });
  const s3 = await aws.s3(REGION);
  const names = Array.from({ length: count }, (_unused, index) => `bench-bucket-${String(index).padStart(5, "0")}`);
  // A few at a time: the emulator is one Python process.
  for (let start = 0; start < names.length; start += 16) {
    await Promise.all(
      names.slice(start, start + 16).map(async (name, offset) => {
        await s3.send(new CreateBucketCommand({ Bucket: name }));
        // One bucket in five is marked PHI, as in an account where PHI is the minority.
        if ((start + offset) % 5 === 0) {
          await s3.send(new PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: [{ Key: "DataClassification", Value: "PHI" }] } }));
        }
      }),
    );
  }
}

async function sweepOnce(endpoint: string, selected: readonly AnyControl[], sweepId: string): Promise<SweepRun> {
  const dir = mkdtempSync(join(tmpdir(), "bench-sweep-"));
  const db = openDatabase(join(dir, "engine.db"));
  try {
    const policy = parsePolicy("{}", "bench policy", controls);
    const aws = createAwsClients({
      endpoint,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
      maxAttempts: 3,
      userAgent: "bench",
    });
    const counts = await countS3Requests(aws);
    const deps: EngineDeps = {
      index: new ControlIndex(controls),
      policy,
      log: new SqliteLogStore(db),
      guard: inMemoryGuard(),
      rateLimiter: new SqliteRateLimiter(db, policy.rateLimit),
      proposals: new SqliteProposalStore(db),
      aws,
      now: () => new Date(),
      logger: silentLogger,
      identity: engineIdentity(policy, []),
      regions: [REGION],
      account: ACCOUNT,
    };
    const started = performance.now();
    const report = await runSweep(deps, { sweepId, controls: selected });
    const seconds = (performance.now() - started) / 1000;
    if (report.failures.length > 0) throw new Error(`sweep failed: ${JSON.stringify(report.failures.slice(0, 3))}`);
    return {
      controls: selected.map((control) => control.id),
      seconds,
      resources: report.resources,
      findings: report.findings.length,
      s3Requests: Object.values(counts).reduce((sum, n) => sum + n, 0),
      requestsByCommand: counts,
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bucket controls of the registry: every control whose id says it governs S3 buckets. */
export function bucketControls(): AnyControl[] {
  return controls.filter((control) => control.id.startsWith("s3-bucket-"));
}

export async function benchSweep(options: { buckets: number; runs: number; log(line: string): void }): Promise<SweepBenchResult> {
  const moto: RunningMoto = await startMotoServer();
  try {
    options.log(`sweep: creating ${options.buckets} buckets on the emulator ...`);
    await createBuckets(moto.endpoint, options.buckets);
    const all = bucketControls();
    const one = all.filter((control) => control.id === "s3-bucket-default-encryption");
    let bestOne: SweepRun | undefined;
    let bestAll: SweepRun | undefined;
    // Alternate the two so a busy moment of the machine does not favour one of them.
    for (let run = 0; run < options.runs; run++) {
      const oneRun = await sweepOnce(moto.endpoint, one, `bench-one-${run}`);
      const allRun = await sweepOnce(moto.endpoint, all, `bench-all-${run}`);
      if (!bestOne || oneRun.seconds < bestOne.seconds) bestOne = oneRun;
      if (!bestAll || allRun.seconds < bestAll.seconds) bestAll = allRun;
    }
    if (!bestOne || !bestAll) throw new RangeError("runs must be at least 1");
    return { buckets: options.buckets, one: bestOne, all: bestAll, ratio: bestAll.seconds / bestOne.seconds };
  } finally {
    await moto.stop();
  }
}
