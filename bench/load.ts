import { LOAD_MAX_BACKLOG, runLoad, type LoadRun } from "../test/support/load";
import { startMotoServer } from "../test/support/moto-server";
import { benchMoto } from "./emulator";

/**
 * Issue 13's load: `events` CloudTrail records through the emulator's EventBridge and SQS into the real engine
 * handler, consumed by `consumers` containers at once on the deployed DynamoDB stores (see test/support/load.ts for
 * the mix). Reports the throughput, and fails the bench if the log does not account for every event.
 */
export async function benchLoad(options: { events: number; consumers: number; log(line: string): void }): Promise<LoadRun> {
  const server = await startMotoServer();
  try {
    options.log(`load: ${options.events} events, ${options.consumers} concurrent consumers ...`);
    const run = await runLoad(benchMoto(server.endpoint), { events: options.events, consumers: options.consumers });
    const { problems, chain } = run.audit;
    if (problems.length > 0 || !chain.ok || run.queueDepth > 0 || run.deadLetters > 0) {
      throw new Error(
        `load: the log does not account for the load: chain ${chain.ok ? "verifies" : "broken"}, ${run.queueDepth} left in the queue, ` +
          `${run.deadLetters} dead letters, ${problems.length} events off (first: ${problems.slice(0, 3).join("; ")})`,
      );
    }
    return run;
  } finally {
    await server.stop();
  }
}

export function printLoad(run: LoadRun): void {
  console.log(
    `\nload: ${run.events} events through EventBridge and SQS into ${run.consumers} concurrent engine containers (DynamoDB stores), ` +
      `published as the queue's backlog fell to ${LOAD_MAX_BACKLOG} or fewer`,
  );
  console.log(
    `  ${run.seconds.toFixed(1)} s from the first PutEvents to an empty queue: ${(run.events / run.seconds).toFixed(1)} events/s; ` +
      `${run.consumed.invocations} handler invocations, ${run.consumed.failed} records retried, ${run.audit.entries} log entries, chain verifies`,
  );
  const { retriedAttempts } = run.audit;
  if (retriedAttempts.length > 0) {
    console.log(`  ${retriedAttempts.length} attempts failed before changing anything and were retried to the end; first:`);
    for (const line of retriedAttempts.slice(0, 3)) console.log(`    ${line}`);
  }
  const log = run.dynamoDbCalls.log ?? {};
  const logCalls = Object.values(log).reduce((sum, n) => sum + n, 0);
  console.log(
    `  log table: ${logCalls} calls for ${run.audit.entries} entries (${(logCalls / run.audit.entries).toFixed(2)} per entry: ` +
      `${Object.entries(log)
        .map(([command, n]) => `${command} ${n}`)
        .join(", ")})`,
  );
}
