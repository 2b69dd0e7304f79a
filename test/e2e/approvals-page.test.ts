import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Dialog, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { processEvent, verifyChain } from "@hipaa-remediate/core";
import { startApprovalsServer, type ApprovalsServer } from "../../packages/cli/src/local/approvals-server";
import { scenario as s3DefaultEncryption } from "../integration/controls/scenarios/s3-bucket-default-encryption";
import { eventBridgeEnvelope } from "../support/cloudtrail";
import { changeEventOf, policyFor, rawRequest, TestRunner, useMotoCredentialsInEnvironment } from "../support/local-runner";
import { useMoto } from "../support/moto";

const moto = useMoto();
useMotoCredentialsInEnvironment();

const OPERATOR = { id: "olivia", name: "Olivia Ops" };
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let runner: TestRunner;
let server: ApprovalsServer;

async function startRunner(options: { live?: boolean } = {}): Promise<void> {
  runner = await TestRunner.open(moto, { policy: policyFor(s3DefaultEncryption.control, "approve"), ...options });
  server = await startApprovalsServer({ engine: runner.engine.deps, operator: OPERATOR, port: 0, housekeepingIntervalMs: 0 });
}

afterEach(async () => {
  await server.close();
  await runner.dispose();
});

describe("the approvals page in headless Chromium", () => {
  let browser: Browser;
  let page: Page;
  let screenshots: string;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    screenshots = mkdtempSync(join(tmpdir(), "approvals-page-shots-"));
  });
  afterAll(async () => {
    await browser.close();
    rmSync(screenshots, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await moto.reset();
    await startRunner();
    page = await browser.newPage();
  });
  afterEach(async () => {
    await page.close();
  });

  /** Answers the page's confirm or prompt dialogs, and keeps what they asked. */
  function answerDialogs(answer?: string): Dialog[] {
    const seen: Dialog[] = [];
    page.on("dialog", (dialog) => {
      seen.push(dialog);
      void (answer === undefined ? dialog.accept() : dialog.accept(answer));
    });
    return seen;
  }

  function cardFor(bucket: string) {
    return page.getByRole("article", { name: new RegExp(bucket) });
  }

  it("Approve (confirmed) applies the fix in moto, verifies it, and logs approved via web -> applied -> verified", async () => {
    const { proposal, resource } = await runner.proposeFrom(s3DefaultEncryption, moto);
    const dialogs = answerDialogs();
    await page.goto(server.pageUrl);
    const card = cardFor(resource.id);

    await card.waitFor();
    const shown = await card.textContent();
    for (const expected of [proposal.plan.summary, ...proposal.plan.steps, proposal.planHash, "164.312(a)(2)(iv)", "Reversible"]) {
      expect(shown).toContain(expected);
    }
    // The token leaves the address bar as soon as the page has read it.
    expect(page.url()).not.toContain("token=");
    const shot = join(screenshots, "pending-proposal.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(0);

    await card.getByRole("button", { name: "Approve" }).click();
    const outcome = card.locator("[data-result]");
    await outcome.waitFor();
    expect(await outcome.getAttribute("data-result")).toBe("applied");
    expect(await outcome.textContent()).toContain("Applied and verified");
    expect(dialogs.map((d) => d.type())).toEqual(["confirm"]);
    expect(dialogs[0]?.message()).toContain(proposal.plan.summary);
    await expect(card.getByRole("button", { name: "Approve" }).count()).resolves.toBe(0);

    await s3DefaultEncryption.assertFixed(moto, resource);
    const entries = await runner.entriesFor(proposal.id);
    expect(entries.map((e) => e.stage)).toEqual(["proposed", "approved", "applied", "verified"]);
    expect(entries[1]?.decidedBy).toEqual({ ...OPERATOR, via: "web" });
    expect(entries[2]?.decidedBy).toEqual({ ...OPERATOR, via: "web" });
    expect((await runner.engine.deps.proposals.get(proposal.id))?.status).toBe("applied");
    expect((await verifyChain(runner.engine.deps.log.read())).ok).toBe(true);
  });

  it("Reject records the decision and its reason and changes nothing", async () => {
    const { proposal, resource } = await runner.proposeFrom(s3DefaultEncryption, moto);
    const dialogs = answerDialogs("restore drill bucket, encryption re-added by the drill");
    await page.goto(server.pageUrl);
    const card = cardFor(resource.id);
    await card.getByRole("button", { name: "Reject" }).click();
    const outcome = card.locator("[data-result]");
    await outcome.waitFor();

    expect(await outcome.getAttribute("data-result")).toBe("rejected");
    expect(await outcome.textContent()).toContain("Rejected");
    expect(dialogs.map((d) => d.type())).toEqual(["prompt"]);
    await s3DefaultEncryption.assertUnchanged(moto, resource);
    const rejected = (await runner.entriesFor(proposal.id)).find((e) => e.stage === "rejected-by-approver");
    expect(rejected).toMatchObject({
      decidedBy: { ...OPERATOR, via: "web" },
      reason: "restore drill bucket, encryption re-added by the drill",
    });
    expect((await runner.engine.deps.proposals.get(proposal.id))?.status).toBe("rejected");
  });

  it("Exempt for 30 days asks for a reason, and the granted exemption applies to the next event", async () => {
    const { proposal, resource, record } = await runner.proposeFrom(s3DefaultEncryption, moto);
    answerDialogs("vendor appliance bucket, compensating control CC-12");
    await page.goto(server.pageUrl);
    const card = cardFor(resource.id);
    await card.getByRole("button", { name: "Exempt for 30 days" }).click();
    const outcome = card.locator("[data-result]");
    await outcome.waitFor();
    expect(await outcome.textContent()).toMatch(/^Exempted until \d{4}-/);

    const exempted = (await runner.entriesFor(proposal.id)).find((e) => e.stage === "exempted");
    expect(exempted?.decidedBy).toEqual({ ...OPERATOR, via: "web" });
    // The same change again, as a new event: the engine's policy now sees the approver's exemption.
    const again = await processEvent(changeEventOf({ ...record, eventID: randomUUID() }), runner.engine.deps);
    expect(again.findings.map((f) => [f.resource, f.decision])).toEqual([[resource.arn, "exempt"]]);
    await s3DefaultEncryption.assertUnchanged(moto, resource);
  });
});

describe("the approvals API's defences", () => {
  beforeEach(async () => {
    await moto.reset();
  });

  function authorised(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${server.token}`, ...extra };
  }

  it("answers 401 with a JSON message when the token is missing or wrong, and serves a proposal with it", async () => {
    await startRunner();
    const headBefore = await runner.engine.deps.log.head();
    const missing = await rawRequest(`${server.url}/api/proposals`, {});
    expect(missing.status).toBe(401);
    expect(missing.json()).toEqual({ error: expect.stringMatching(/missing access token.*Authorization: Bearer/) });
    const wrong = await rawRequest(`${server.url}/api/proposals`, { headers: { authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(401);
    expect(wrong.json()).toEqual({ error: expect.stringMatching(/wrong access token/) });
    // Refused requests are counted for the operator, never appended to the audit log.
    const metrics = await rawRequest(`${server.url}/api/metrics`, { headers: authorised() });
    expect(metrics.json()).toEqual({ unauthenticatedRequests: { "slack-signature": 0, "serve-token": 2 } });
    expect(await runner.engine.deps.log.head()).toEqual(headBefore);

    const { proposal } = await runner.proposeFrom(s3DefaultEncryption, moto);
    const one = await rawRequest(`${server.url}/api/proposals/${proposal.id}`, { headers: authorised() });
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ id: proposal.id, status: "pending", planHash: proposal.planHash });
    const unknown = await rawRequest(`${server.url}/api/proposals/no-such-id`, { headers: authorised() });
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toEqual({ error: "there is no proposal no-such-id" });
  });

  it("refuses a cross-origin POST and a foreign Host even with the right token, and changes nothing", async () => {
    await startRunner();
    const { proposal, resource } = await runner.proposeFrom(s3DefaultEncryption, moto);
    const path = `${server.url}/api/proposals/${proposal.id}/approve`;
    const body = JSON.stringify({ planHash: proposal.planHash });

    const crossOrigin = await rawRequest(path, {
      method: "POST",
      headers: authorised({ "content-type": "application/json", origin: "http://evil.example" }),
      body,
    });
    expect(crossOrigin.status).toBe(403);
    expect(crossOrigin.json()).toEqual({ error: "cross-origin request from http://evil.example refused" });

    const rebound = await rawRequest(path, {
      method: "POST",
      headers: authorised({ "content-type": "application/json", host: `rebind.evil.example:${new URL(server.url).port}` }),
      body,
    });
    expect(rebound.status).toBe(403);
    expect(rebound.json()).toEqual({ error: expect.stringMatching(/not this local server.*DNS-rebinding/) });

    const formPost = await rawRequest(path, { method: "POST", headers: authorised({ "content-type": "text/plain" }), body });
    expect(formPost.status).toBe(415);

    expect((await runner.engine.deps.proposals.get(proposal.id))?.status).toBe("pending");
    await s3DefaultEncryption.assertUnchanged(moto, resource);
  });

  it("refuses a decision for a plan hash other than the stored one, and names a bad field", async () => {
    await startRunner();
    const { proposal } = await runner.proposeFrom(s3DefaultEncryption, moto);
    const post = (body: string) =>
      rawRequest(`${server.url}/api/proposals/${proposal.id}/approve`, {
        method: "POST",
        headers: authorised({ "content-type": "application/json" }),
        body,
      });

    const stale = await post(JSON.stringify({ planHash: "0".repeat(64) }));
    expect(stale.status).toBe(409);
    expect(stale.json()).toMatchObject({ result: "plan-changed", proposal: { status: "pending" } });
    const refusal = (await runner.entriesFor(proposal.id)).find((e) => e.stage === "rejected");
    expect(refusal?.reason).toMatch(/plan hash mismatch/);

    const missing = await post(JSON.stringify({ reason: "no hash" }));
    expect(missing.status).toBe(400);
    expect(missing.json()).toMatchObject({ field: "body.planHash" });
  });

  it("refuses to approve when the runner is offline, and still lets a person reject", async () => {
    // Offline, the engine caps approve mode at dry-run; the proposal comes from an earlier live run on the same store.
    runner = await TestRunner.open(moto, { policy: policyFor(s3DefaultEncryption.control, "approve") });
    const { proposal } = await runner.proposeFrom(s3DefaultEncryption, moto);
    const dbPath = runner.dbPath;
    await runner.engine.close();
    runner = await TestRunner.reopen(runner, { live: false });
    expect(runner.dbPath).toBe(dbPath);
    server = await startApprovalsServer({ engine: runner.engine.deps, operator: OPERATOR, port: 0, housekeepingIntervalMs: 0 });

    const approve = await rawRequest(`${server.url}/api/proposals/${proposal.id}/approve`, {
      method: "POST",
      headers: authorised({ "content-type": "application/json" }),
      body: JSON.stringify({ planHash: proposal.planHash }),
    });
    expect(approve.status).toBe(409);
    expect(approve.json()).toEqual({ error: expect.stringMatching(/offline.*--live/) });
    const reject = await rawRequest(`${server.url}/api/proposals/${proposal.id}/reject`, {
      method: "POST",
      headers: authorised({ "content-type": "application/json" }),
      body: JSON.stringify({ planHash: proposal.planHash }),
    });
    expect(reject.status).toBe(200);
    expect(reject.json()).toMatchObject({ result: "rejected", proposal: { status: "rejected", decidedBy: { ...OPERATOR, via: "web" } } });
  });

  it("POST /events runs an EventBridge envelope through the engine, and logs a body that is not JSON as rejected", async () => {
    await startRunner();
    const { record, resource } = await s3DefaultEncryption.arrangeViolation(moto);
    const accepted = await rawRequest(`${server.url}/events`, {
      method: "POST",
      headers: authorised({ "content-type": "application/json" }),
      body: JSON.stringify([eventBridgeEnvelope(record)]),
    });
    expect(accepted.status).toBe(200);
    expect(accepted.json()).toMatchObject({
      kind: "processed",
      summary: { records: 1, events: 1, rejected: 0, findings: 1 },
      items: [{ type: "event", findings: [{ resource: resource.arn, decision: "approve", outcome: "proposed" }] }],
    });
    expect((await runner.engine.deps.proposals.listByStatus("pending")).map((p) => p.finding.resource.arn)).toEqual([resource.arn]);

    const broken = await rawRequest(`${server.url}/events`, {
      method: "POST",
      headers: authorised({ "content-type": "application/json" }),
      body: '{"detail-type": "AWS API Call via CloudTrail", ',
    });
    expect(broken.status).toBe(400);
    expect(broken.json()).toEqual({ error: expect.stringMatching(/^request body is not JSON: .+ at character \d+$/) });
    const rejected = (await runner.log()).filter((e) => e.stage === "rejected");
    expect(rejected).toEqual([
      expect.objectContaining({ source: "local-runner:/events", reason: (broken.json() as { error: string }).error }),
    ]);

    const unauthenticated = await rawRequest(`${server.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(eventBridgeEnvelope(record)),
    });
    expect(unauthenticated.status).toBe(401);
  });
});
