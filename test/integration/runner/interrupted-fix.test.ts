import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execPath } from "node:process";
import { openDatabase, SqliteLogStore, verifyChain, type LogEntry } from "@hipaa-remediate/core";
import { afterAll, describe, expect, it } from "vitest";
import { encryptionRules, scenario } from "../controls/scenarios/s3-bucket-default-encryption";
import { eventBridgeEnvelope } from "../../support/cloudtrail";
import { MOTO_REGION, useMoto } from "../../support/moto";
import type { KillPoint } from "./kill-points";

const moto = useMoto();
const CONTROL = scenario.control;
const child = join(import.meta.dirname, "interrupted-fix-process.ts");
const dir = mkdtempSync(join(tmpdir(), "interrupted-fix-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A PHI bucket whose default encryption was just deleted, and the body of the SQS message that reports it. */
async function arrangeViolation(): Promise<{ bucket: string; eventId: string; bodyFile: string }> {
  const { record, resource } = await scenario.arrangeViolation(moto);
  const bodyFile = join(dir, `${resource.id}.json`);
  writeFileSync(bodyFile, JSON.stringify(eventBridgeEnvelope(record)));
  return { bucket: resource.id, eventId: String(record.eventID), bodyFile };
}

interface EngineRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** One engine process handling the message (its `receiveCount`th delivery), killed at `killPoint`. */
function runEngine(db: string, bodyFile: string, killPoint: KillPoint, requestsFile: string, receiveCount: number): Promise<EngineRun> {
  return new Promise((resolve, reject) => {
    // Node itself runs the engine (tsx only as a loader), so the signal that ends it is what the test sees.
    const args = [
      "--import",
      "tsx",
      child,
      db,
      moto.endpoint,
      bodyFile,
      killPoint,
      requestsFile,
      CONTROL,
      MOTO_REGION,
      String(receiveCount),
    ];
    const process = spawn(execPath, args, { cwd: join(import.meta.dirname, "../../.."), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    process.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    process.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    process.on("error", reject);
    process.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function sentRequests(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/** The entries that tell the fix's story, in order. */
const FIX_STAGES = new Set(["applying", "applied", "verified", "failed"]);

interface Expected {
  puts: number;
  fixed: boolean;
  last: { stage: "verified" | "failed"; reason?: RegExp };
}

const cases: [KillPoint, Expected][] = [
  ["before-applying", { puts: 1, fixed: true, last: { stage: "verified" } }],
  [
    "before-apply",
    {
      puts: 0,
      fixed: false,
      last: { stage: "failed", reason: /interrupted after its intent to apply .*still violating .*not applied again, needs a person/ },
    },
  ],
  [
    "after-apply",
    {
      puts: 1,
      fixed: true,
      last: { stage: "failed", reason: /interrupted after its intent to apply .*compliant now, verified on redelivery; not applied again/ },
    },
  ],
  [
    "after-applied",
    { puts: 1, fixed: true, last: { stage: "verified", reason: /interrupted after apply .*verified on redelivery, not applied again/ } },
  ],
  // `applied` waits to share verify's write: the fix is told as done, though not as reversible from the log.
  [
    "after-verify",
    {
      puts: 1,
      fixed: true,
      last: { stage: "failed", reason: /interrupted after its intent to apply .*compliant now, verified on redelivery; not applied again/ },
    },
  ],
  [
    "after-completed",
    { puts: 1, fixed: true, last: { stage: "verified", reason: /interrupted after apply .*verified on redelivery, not applied again/ } },
  ],
  ["after-verified", { puts: 1, fixed: true, last: { stage: "verified" } }],
];

describe("the engine killed mid-fix, then the message redelivered to a fresh process", () => {
  it.each(cases)("killed %s: applies at most once and the log ends with the truth", { timeout: 240_000 }, async (killPoint, expected) => {
    const { bucket, eventId, bodyFile } = await arrangeViolation();
    const db = join(dir, `${killPoint}.db`);
    const firstRequests = join(dir, `${killPoint}-first.requests`);
    const secondRequests = join(dir, `${killPoint}-second.requests`);

    const first = await runEngine(db, bodyFile, killPoint, firstRequests, 1);
    expect(first, first.stderr).toMatchObject({ signal: "SIGKILL", stdout: "" });
    const second = await runEngine(db, bodyFile, "none", secondRequests, 2);
    expect(second, second.stderr).toMatchObject({ code: 0 });
    // The redelivery succeeded: nothing left for SQS to retry.
    expect(JSON.parse(second.stdout)).toEqual({ batchItemFailures: [] });

    const puts = [...sentRequests(firstRequests), ...sentRequests(secondRequests)].filter((name) => name === "PutBucketEncryptionCommand");
    expect(puts).toHaveLength(expected.puts);
    const rules = await encryptionRules(await moto.clients.s3(MOTO_REGION), bucket);
    expect(rules.length > 0).toBe(expected.fixed);

    const database = openDatabase(db);
    const store = new SqliteLogStore(database);
    try {
      expect(await verifyChain(store.read())).toMatchObject({ ok: true });
      const story = (await store.byEvent(eventId)).filter((entry: LogEntry) => entry.control === CONTROL && FIX_STAGES.has(entry.stage));
      // One intent to apply in all: the redelivery never started a second fix.
      expect(story.filter((entry) => entry.stage === "applying")).toHaveLength(1);
      expect(story.filter((entry) => entry.stage === "applied").length).toBeLessThanOrEqual(1);
      const last = story.at(-1);
      expect(last?.stage).toBe(expected.last.stage);
      if (expected.last.reason) expect(last?.reason).toMatch(expected.last.reason);
      // Exactly one entry ends the story: nothing after it contradicts it.
      expect(story.filter((entry) => entry.stage === "verified" || entry.stage === "failed")).toHaveLength(1);
    } finally {
      database.close();
    }
  });
});
