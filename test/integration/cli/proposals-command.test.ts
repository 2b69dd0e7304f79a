import { spawn } from "node:child_process";
import { once } from "node:events";
import { userInfo } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { processEvent, verifyChain, type Proposal, type ResourceRef } from "@hipaa-remediate/core";
import { main } from "../../../packages/cli/src/main";
import type { ProposalView } from "../../../packages/cli/src/local/proposal-view";
import { scenario as s3DefaultEncryption } from "../controls/scenarios/s3-bucket-default-encryption";
import { changeEventOf, policyFor, TestRunner, useMotoCredentialsInEnvironment } from "../../support/local-runner";
import { useMoto } from "../../support/moto";

const moto = useMoto();
useMotoCredentialsInEnvironment();

const OS_USER = userInfo().username;
const CLI = join(import.meta.dirname, "../../../packages/cli/bin/hipaa-remediate.js");

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process, as `hipaa-remediate <args>`, capturing what it prints. */
async function cli(...args: string[]): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const capture = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  };
  const out = vi.spyOn(process.stdout, "write").mockImplementation(capture(stdout));
  const err = vi.spyOn(process.stderr, "write").mockImplementation(capture(stderr));
  try {
    const code = await main(["node", "hipaa-remediate", ...args]);
    return { code, stdout: stdout.join(""), stderr: stderr.join("") };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

let runner: TestRunner;
let proposal: Proposal;
let resource: ResourceRef;

beforeEach(async () => {
  await moto.reset();
  runner = await TestRunner.open(moto, { policy: policyFor(s3DefaultEncryption.control, "approve") });
  ({ proposal, resource } = await runner.proposeFrom(s3DefaultEncryption, moto));
});
afterEach(async () => {
  await runner.dispose();
});

function store(): string[] {
  return ["--db", runner.dbPath];
}

function live(): string[] {
  return [...store(), "--policy", runner.policyPath, "--live", "--endpoint", moto.endpoint];
}

async function statusOf(id: string): Promise<string | undefined> {
  return (await runner.engine.deps.proposals.get(id))?.status;
}

describe("hipaa-remediate proposals", () => {
  it("list prints pending proposals as a table and as JSON with the plan and its hash", async () => {
    const table = await cli("proposals", "list", ...store());
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(proposal.id);
    expect(table.stdout).toContain(s3DefaultEncryption.control);
    expect(table.stdout).toContain("1 proposals");

    const json = await cli("proposals", "list", ...store(), "--format", "json");
    const views = JSON.parse(json.stdout) as ProposalView[];
    expect(views).toHaveLength(1);
    expect(views[0]).toMatchObject({
      id: proposal.id,
      status: "pending",
      planHash: proposal.planHash,
      resource: { arn: resource.arn },
      plan: { steps: proposal.plan.steps, reversible: proposal.plan.reversible },
    });

    const decided = await cli("proposals", "list", ...store(), "--status", "applied");
    expect(decided.stdout).toBe("No applied proposals.\n");
  });

  it("show prints the change, evidence, plan steps, reversibility, expiry and plan hash", async () => {
    const shown = await cli("proposals", "show", proposal.id, ...store());
    expect(shown.code).toBe(0);
    for (const expected of [
      `Proposal ${proposal.id}`,
      "DeleteBucketEncryption by",
      "Evidence:",
      ...proposal.plan.steps.map((step, i) => `${i + 1}. ${step}`),
      "Reversible:  yes",
      `Expires:     ${proposal.expiresAt}`,
      `Plan hash:   ${proposal.planHash}`,
      "164.312(a)(2)(iv)",
    ]) {
      expect(shown.stdout).toContain(expected);
    }
  });

  it("approve refuses without --live, with a message that says what to do, and changes nothing", async () => {
    const run = await cli("proposals", "approve", proposal.id, ...store(), "--policy", runner.policyPath);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/approve applies the fix after re-checking live AWS state: add --live/);
    expect(await statusOf(proposal.id)).toBe("pending");
    await s3DefaultEncryption.assertUnchanged(moto, resource);
  });

  it("approve --live applies the fix in moto, verifies it, and logs the CLI user as the decider", async () => {
    const run = await cli("proposals", "approve", proposal.id, ...live(), "--as", "Dana Scully", "--plan-hash", proposal.planHash);
    expect(run).toMatchObject({ code: 0, stdout: `proposal ${proposal.id}: Applied and verified: the fix is in place.\n` });

    await s3DefaultEncryption.assertFixed(moto, resource);
    const entries = await runner.entriesFor(proposal.id);
    expect(entries.map((e) => e.stage)).toEqual(["proposed", "approved", "applied", "verified"]);
    expect(entries[1]?.decidedBy).toEqual({ id: OS_USER, name: "Dana Scully", via: "cli" });
    expect(await statusOf(proposal.id)).toBe("applied");
    expect((await verifyChain(runner.engine.deps.log.read())).ok).toBe(true);

    const again = await cli("proposals", "approve", proposal.id, ...live());
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/Already approved by Dana Scully .*applied and verified/);
  });

  it("approve with a plan hash other than the stored one is refused and changes nothing", async () => {
    const run = await cli("proposals", "approve", proposal.id, ...live(), "--plan-hash", "f".repeat(64));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/Refused: the plan hash does not match/);
    expect(await statusOf(proposal.id)).toBe("pending");
    await s3DefaultEncryption.assertUnchanged(moto, resource);
  });

  it("reject --reason records the decision with its reason; nothing is changed", async () => {
    const run = await cli("proposals", "reject", proposal.id, ...store(), "--reason", "bucket is being decommissioned today");
    expect(run).toMatchObject({ code: 0, stdout: `proposal ${proposal.id}: Rejected. Nothing was changed.\n` });
    const rejected = (await runner.entriesFor(proposal.id)).find((e) => e.stage === "rejected-by-approver");
    expect(rejected).toMatchObject({
      reason: "bucket is being decommissioned today",
      decidedBy: { id: OS_USER, name: OS_USER, via: "cli" },
    });
    expect(await statusOf(proposal.id)).toBe("rejected");
    await s3DefaultEncryption.assertUnchanged(moto, resource);
  });

  it("exempt --days grants an exemption that later events honour; a short reason is refused naming --reason", async () => {
    const short = await cli("proposals", "exempt", proposal.id, ...store(), "--reason", "because");
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/^hipaa-remediate: --reason: .*10/);
    expect(await statusOf(proposal.id)).toBe("pending");

    const run = await cli(
      "proposals",
      "exempt",
      proposal.id,
      ...store(),
      "--reason",
      "vendor appliance, compensating control CC-12",
      "--days",
      "7",
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Exempted until \d{4}-\d\d-\d\dT/);
    const [granted] = (await runner.engine.deps.exemptions?.list()) ?? [];
    expect(granted).toMatchObject({
      source: "approval",
      resource: resource.arn,
      controls: [s3DefaultEncryption.control],
      owner: `${OS_USER} (cli user ${OS_USER})`,
    });
    const days = (Date.parse(granted?.expires ?? "") - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(7);

    const { record } = await s3DefaultEncryption.arrangeViolation(moto);
    const report = await processEvent(changeEventOf({ ...record, requestParameters: { bucketName: resource.id } }), runner.engine.deps);
    expect(report.findings.map((f) => [f.resource, f.decision])).toEqual([[resource.arn, "exempt"]]);
  });

  it("expire expires overdue proposals and logs each one", async () => {
    const yesterday = () => new Date(Date.now() - 2 * 86_400_000);
    await runner.engine.close();
    runner = await TestRunner.reopen(runner, { now: yesterday });
    const { proposal: overdue } = await runner.proposeFrom(s3DefaultEncryption, moto);

    const run = await cli("proposals", "expire", ...store(), "--policy", runner.policyPath);
    expect(run).toMatchObject({ code: 0, stdout: `expired 1 proposal(s): ${overdue.id}\n` });
    expect(await statusOf(overdue.id)).toBe("expired");
    expect(await statusOf(proposal.id)).toBe("pending");
    expect((await runner.entriesFor(overdue.id)).map((e) => e.stage)).toEqual(["proposed", "expired"]);
  });

  it("names an unknown proposal and a missing store as usage errors", async () => {
    const unknown = await cli("proposals", "show", "no-such-id", ...store());
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringMatching(/there is no proposal no-such-id/) });
    const missing = await cli("proposals", "list", "--db", join(runner.dir, "typo.db"));
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/no local store at .*typo\.db/) });
  });
});

describe("hipaa-remediate serve", () => {
  it("prints the page URL and token, serves the API with the token only, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...store(), "--as", "Olivia"], {
      env: { ...process.env, SLACK_SIGNING_SECRET: "", SLACK_BOT_TOKEN: "" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = once(child, "exit");
    const lines = createInterface({ input: child.stderr });
    let pageUrl = "";
    let printed = "";
    for await (const line of lines) {
      printed += `${line}\n`;
      pageUrl = /page:\s+(\S+)/.exec(line)?.[1] ?? pageUrl;
      if (line.startsWith("Stop with")) break;
    }
    expect(printed).toMatch(/slack:\s+off \(set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN\)/);
    expect(printed).toMatch(/AWS:\s+offline: approving is disabled/);
    const page = new URL(pageUrl);
    expect(page.hostname).toBe("127.0.0.1");
    const token = page.searchParams.get("token") ?? "";
    expect(token).toMatch(/^[\w-]{43}$/);

    const api = `${page.origin}/api/proposals`;
    expect((await fetch(api)).status).toBe(401);
    const listed = (await (await fetch(api, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      operator: { name: string };
      live: boolean;
      proposals: ProposalView[];
    };
    expect(listed).toMatchObject({ operator: { name: "Olivia" }, live: false });
    expect(listed.proposals.map((p) => p.id)).toEqual([proposal.id]);

    child.kill("SIGTERM");
    const [code] = await exited;
    expect(code).toBe(0);
  });
});
