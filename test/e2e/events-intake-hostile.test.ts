import { afterEach, describe, expect, it } from "vitest";
import { startApprovalsServer, type ApprovalsServer } from "../../packages/cli/src/local/approvals-server";
import { cloudTrailRecord, eventBridgeEnvelope } from "../support/cloudtrail";
import { rawRequest, TestRunner, policyFor, useMotoCredentialsInEnvironment } from "../support/local-runner";
import { useMoto } from "../support/moto";

const moto = useMoto();
useMotoCredentialsInEnvironment();

let runner: TestRunner;
let server: ApprovalsServer;

afterEach(async () => {
  await server.close();
  await runner.dispose();
});

/** An envelope whose record holds `raw` (JSON text JSON.stringify cannot write) at requestParameters.extra. */
function envelopeWith(raw: string, eventID?: string): string {
  const record = cloudTrailRecord({
    eventSource: "s3.amazonaws.com",
    eventName: "DeleteBucketEncryption",
    requestParameters: { bucketName: "hostile-bucket", extra: "HOSTILE" },
  });
  if (eventID === undefined) delete record.eventID;
  else record.eventID = eventID;
  return JSON.stringify(eventBridgeEnvelope(record)).replace('"HOSTILE"', raw);
}

describe("POST /events with values the engine cannot carry", () => {
  it("answers 400 naming the field, for a number that overflows and for 100k-deep nesting, with or without an eventID", async () => {
    runner = await TestRunner.open(moto, { policy: policyFor("s3-bucket-default-encryption", "dry-run"), live: false });
    server = await startApprovalsServer({
      engine: runner.engine.deps,
      operator: { id: "olivia", name: "Olivia Ops" },
      port: 0,
      housekeepingIntervalMs: 0,
    });
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const bodies: [string, RegExp][] = [
      [envelopeWith("1e999", "posted-1"), /^detail\.requestParameters\.extra: a number too large for JSON/],
      [envelopeWith("-1e999"), /^detail\.requestParameters\.extra: a number too large for JSON/],
      [envelopeWith(deep, "posted-2"), /^detail\.requestParameters\.extra(\[0\])+…\(\d+ more levels\): nested deeper than 64 levels/],
      [deep, /arrays or log files nested more than 64 levels deep/],
    ];
    for (const [body, reason] of bodies) {
      const response = await rawRequest(`${server.url}/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
        body,
      });
      expect(response.status, body.slice(0, 80)).toBe(400);
      expect(response.json()).toMatchObject({
        kind: "processed",
        summary: { records: 1, rejected: 1 },
        items: [{ type: "rejected", reason: expect.stringMatching(reason) }],
      });
    }
    const rejected = (await runner.log()).filter((entry) => entry.stage === "rejected");
    expect(rejected).toHaveLength(bodies.length);
  });
});
