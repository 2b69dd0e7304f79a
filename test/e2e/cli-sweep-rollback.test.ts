import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scenario } from "../integration/controls/scenarios/s3-bucket-default-encryption";
import { jsonLines, runCli } from "../support/cli";
import { MOTO_CREDENTIALS, MOTO_REGION, useMoto } from "../support/moto";

const moto = useMoto();

function awsEnv(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_REGION: MOTO_REGION,
    AWS_ENDPOINT_URL: moto.endpoint,
  };
}

describe("hipaa-remediate sweep and rollback against the emulator", () => {
  it("sweep finds a violation no event announced, fixes it in auto mode, and rollback restores the captured state", async () => {
    const { resource } = await scenario.arrangeViolation(moto);
    const dir = mkdtempSync(join(tmpdir(), "hipaa-sweep-"));
    const db = join(dir, "engine.db");
    const policy = join(dir, "policy.yaml");
    writeFileSync(policy, "controls:\n  s3-bucket-default-encryption:\n    mode: auto\n");

    const sweep = await runCli(
      ["sweep", "--db", db, "--policy", policy, "--control", "s3-bucket-default-encryption", "--format", "jsonl"],
      { env: awsEnv() },
    );
    expect(sweep.stderr).toBe("");
    expect(sweep.code).toBe(0);
    const lines = jsonLines(sweep.stdout);
    const finding = lines.find((l) => l.type === "finding" && l.resource === resource.arn);
    expect(finding).toMatchObject({ eventName: "Sweep", decision: "auto", outcome: "verified" });
    expect(lines.at(-1)).toMatchObject({ type: "summary", failures: 0 });
    await scenario.assertFixed(moto, resource);

    const applied = await runCli(["log", "show", "--db", db, "--stage", "applied"]);
    const seq = /^(\d+)\s/m.exec(applied.stdout.split("\n").slice(2).join("\n"))?.[1];
    expect(seq).toBeDefined();
    const rollback = await runCli(["rollback", String(seq), "--db", db], { env: awsEnv() });
    expect(rollback.stderr).toBe("");
    expect(rollback.code).toBe(0);
    await scenario.assertUnchanged(moto, resource);
    const rolledBack = await runCli(["log", "show", "--db", db, "--stage", "rolled-back"]);
    expect(rolledBack.stdout).toContain(resource.arn);
    const verify = await runCli(["log", "verify", "--db", db]);
    expect(verify.code).toBe(0);
  });

  it("rollback refuses an entry that is not an applied fix", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-rollback-"));
    const db = join(dir, "engine.db");
    expect((await runCli(["replay", "--db", db, "samples/events"])).code).toBe(0);
    const result = await runCli(["rollback", "1", "--db", db], { env: awsEnv() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/entry 1 is a "\w[\w-]*" entry, not "applied"/);
  });
});
