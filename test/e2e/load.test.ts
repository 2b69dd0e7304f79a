import { describe, expect, it } from "vitest";
import { runLoad } from "../support/load";
import { useMoto } from "../support/moto";

const moto = useMoto();

/**
 * Issue 13 §3: a load through the emulator's EventBridge and SQS into the real engine handler, consumed by several
 * containers at once on the deployed DynamoDB stores. The event mix and what "terminal" means for each class of
 * event are set out in test/support/load.ts. The full 10,000 events run as `npm run bench -- --only load`, which
 * reports the throughput; this test runs a smaller load, so that the suite stays quick on a 2-core machine.
 */
const EVENTS = Number(process.env.LOAD_TEST_EVENTS ?? 100);
const CONSUMERS = 4;

describe(`${EVENTS} events through EventBridge and SQS into ${CONSUMERS} concurrent engine containers`, () => {
  it("leaves every event its entries up to its terminal one, a verifying chain, and empty queues", async () => {
    const run = await runLoad(moto, { events: EVENTS, consumers: CONSUMERS });

    expect(run.audit.problems).toEqual([]);
    expect(run.audit.chain).toMatchObject({ ok: true, checked: run.audit.entries });
    // Each message was handled to the end once; a record that failed an attempt was retried by SQS, as designed:
    // every attempt the log shows as failed was handed back to the queue as a batch item failure.
    expect(run.consumed.succeeded).toBe(EVENTS);
    expect(run.audit.retriedAttempts.length).toBeLessThanOrEqual(run.consumed.failed);
    expect(run.queueDepth).toBe(0);
    expect(run.deadLetters).toBe(0);
  }, 600_000);
});
