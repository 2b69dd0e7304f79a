import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import { silentLogger, type LogEntry } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { startApprovalsServer, type ApprovalsServer } from "../../packages/cli/src/local/approvals-server";
import { openLocalEngine, type LocalEngine } from "../../packages/cli/src/local/engine";
import { storyDrafts, syntheticStories } from "../support/report-log";
import { rawRequest } from "../support/local-runner";
import { fillLargeLog } from "../support/large-log";

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
const STORIES = 500;

interface AuditView {
  dir: string;
  engine: LocalEngine;
  server: ApprovalsServer;
  browser: Browser;
}

/** A local engine in a fresh directory, its log filled by `fill`, served with the auditor view, and a browser. */
async function openAuditView(prefix: string, fill: (engine: LocalEngine) => Promise<void>): Promise<AuditView> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const engine = await openLocalEngine({ dbPath: join(dir, "engine.db"), logger: silentLogger });
  await fill(engine);
  const server = await startApprovalsServer({
    engine: engine.deps,
    operator: { id: "olivia", name: "Olivia Ops" },
    port: 0,
    housekeepingIntervalMs: 0,
    audit: { store: "sqlite:test", policySource: "built-in default policy" },
  });
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  return { dir, engine, server, browser };
}

async function closeAuditView(view: AuditView): Promise<void> {
  await view.browser.close();
  await view.server.close();
  await view.engine.close();
  rmSync(view.dir, { recursive: true, force: true });
}

describe("the auditor view in headless Chromium", { timeout: 180_000 }, () => {
  let dir: string;
  let engine: LocalEngine;
  let server: ApprovalsServer;
  let browser: Browser;
  let page: Page;
  let entries: LogEntry[];

  beforeAll(async () => {
    ({ dir, engine, server, browser } = await openAuditView("audit-page-", async (opened) => {
      entries = [];
      for (const story of syntheticStories(STORIES, { end: new Date("2026-11-30T12:00:00Z"), weeks: 8, controls })) {
        for (const draft of storyDrafts(story)) entries.push(await opened.deps.log.append(draft));
      }
    }));
  });
  afterAll(async () => {
    await closeAuditView({ dir, engine, server, browser });
  });
  beforeEach(async () => {
    page = await browser.newPage({ acceptDownloads: true });
    await page.goto(`${server.url}/audit?token=${encodeURIComponent(server.token)}`);
  });
  afterEach(async () => {
    await page.close();
  });

  const chain = () => page.locator("#chain");
  const rowSeqs = async () =>
    await page.locator("#entries tbody tr").evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-seq"))));

  it("verifies the chain, filters by stage and resource, pages with a keyset cursor and opens an entry with its neighbours", async () => {
    await expect.poll(() => chain().getAttribute("data-ok")).toBe("true");
    expect(await chain().textContent()).toContain(
      `Log OK: ${entries.length} entries verified; head ${entries.length}:${entries.at(-1)?.hash}`,
    );
    expect(page.url()).not.toContain("token=");

    await page.locator("#f-stage").selectOption("decision");
    await page.getByLabel("Resource (part of the ARN)").fill("phi-bucket-1");
    await page.getByRole("button", { name: "Search" }).click();
    const expected = entries.filter((e) => e.stage === "decision" && e.resource?.arn.includes("phi-bucket-1"));
    expect(expected.length).toBeGreaterThan(50);
    await expect.poll(rowSeqs).toEqual(expected.slice(0, 50).map((e) => e.seq));
    await page.getByRole("button", { name: "Next page" }).click();
    await expect.poll(rowSeqs).toEqual(expected.slice(50, 100).map((e) => e.seq));
    await page.getByRole("button", { name: "Previous page" }).click();
    await expect.poll(rowSeqs).toEqual(expected.slice(0, 50).map((e) => e.seq));

    const chosen = expected[3];
    if (!chosen) throw new Error("no entry to open");
    await page.getByRole("button", { name: `Open entry ${chosen.seq}`, exact: true }).click();
    const detail = page.locator("#detail");
    await expect.poll(() => detail.locator("h2").textContent()).toBe(`Entry ${chosen.seq}: decision`);
    const shown = await detail.textContent();
    const previous = entries[chosen.seq - 2];
    const next = entries[chosen.seq];
    for (const text of [
      chosen.hash,
      chosen.prevHash,
      chosen.reason,
      chosen.resource?.arn,
      `entry ${previous?.seq}`,
      `entry ${next?.seq}`,
      previous?.hash,
      next?.hash,
    ]) {
      expect(shown).toContain(text);
    }
    expect(await page.locator("#detail-checks").textContent()).toBe("Its content matches its hash. It links to the entry before it.");
    await page.getByRole("button", { name: `Next: entry ${next?.seq} (${next?.stage})` }).click();
    await expect.poll(() => detail.locator("h2").textContent()).toBe(`Entry ${next?.seq}: ${next?.stage}`);
  });

  it("filters by HIPAA section, control and date range together", async () => {
    const control = controls[1];
    if (!control) throw new Error("no control");
    const section = control.hipaa.sections[0] ?? "";
    await page.locator("#f-section").selectOption(section);
    await page.locator("#f-control").selectOption(control.id);
    await page.locator("#f-from").fill("2026-11-01");
    await page.locator("#f-to").fill("2026-11-10");
    await page.getByRole("button", { name: "Search" }).click();
    const expected = entries.filter(
      (e) => e.hipaa?.includes(section) && e.control === control.id && e.at >= "2026-11-01" && e.at < "2026-11-11",
    );
    expect(expected.length).toBeGreaterThan(0);
    await expect.poll(rowSeqs).toEqual(expected.slice(0, 50).map((e) => e.seq));
  });

  it("shows the evidence report inside the page and downloads the log and the report", async () => {
    await page.getByRole("button", { name: "Show the report" }).click();
    const report = page.frameLocator("#report");
    await expect.poll(() => report.locator(".status").first().textContent()).toContain("Log verified.");
    expect(await report.locator("h1").textContent()).toBe("HIPAA Security Rule remediation evidence");
    // The linked stylesheet loaded under the page's CSP: the status box has its colour.
    expect(
      await report.locator(".status.ok").evaluate((node) => node.ownerDocument.defaultView?.getComputedStyle(node).borderLeftStyle),
    ).toBe("solid");

    const [logDownload] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export the log (CSV)" }).click(),
    ]);
    expect(logDownload.suggestedFilename()).toBe("hipaa-remediate-log.csv");
    const csv = readFileSync(await logDownload.path(), "utf8")
      .split("\r\n")
      .filter((line) => line !== "");
    expect(csv[0]).toBe("seq,at,stage,eventId,actor,control,resource,mode,decidedBy,reason,planHash,prevHash,hash");
    expect(csv).toHaveLength(entries.length + 1);
    expect(csv.at(-1)).toMatch(new RegExp(`,${entries.at(-1)?.hash}$`));

    const [reportDownload] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Report (JSON)" }).click(),
    ]);
    expect(reportDownload.suggestedFilename()).toMatch(/^hipaa-report-\d{4}-\d{2}-\d{2}\.json$/);
    const json = JSON.parse(readFileSync(await reportDownload.path(), "utf8")) as {
      totals: { findings: number };
      header: { store: string };
    };
    expect(json.totals.findings).toBe(STORIES);
    expect(json.header.store).toBe("sqlite:test");
  });

  it("keeps the approvals page's protections: the token, the Host and the Origin", async () => {
    const path = `${server.url}/api/audit/entries?stage=verified`;
    expect((await rawRequest(path, {})).status).toBe(401);
    const crossOrigin = await rawRequest(path, { headers: { authorization: `Bearer ${server.token}`, origin: "http://evil.example" } });
    expect(crossOrigin.status).toBe(403);
    const rebound = await rawRequest(path, {
      headers: { authorization: `Bearer ${server.token}`, host: `rebind.evil.example:${new URL(server.url).port}` },
    });
    expect(rebound.status).toBe(403);
    const badStage = await rawRequest(`${server.url}/api/audit/entries?stage=nonsense`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    expect(badStage.status).toBe(400);
    expect(badStage.json()).toMatchObject({ field: "query.stage" });
  });

  // Last: it edits the log.
  it("flags a tampered log, and the edited entry's own hash check fails", async () => {
    const victim = entries[100];
    if (!victim) throw new Error("no entry 101");
    engine.db
      .prepare(
        "UPDATE log_entries SET entry = replace(entry, 'arn:aws:iam::123456789012:user/alice', 'arn:aws:iam::123456789012:user/mallory') WHERE seq = ?",
      )
      .run(victim.seq);
    await page.getByRole("button", { name: "Verify again" }).click();
    await expect.poll(() => chain().getAttribute("data-ok")).toBe("false");
    expect(await chain().textContent()).toContain(`Log TAMPERED: entry ${victim.seq} is edited`);

    await page.getByLabel("Actor or approver").fill("mallory");
    await page.getByRole("button", { name: "Search" }).click();
    await expect.poll(rowSeqs).toEqual([victim.seq]);
    expect(await page.locator(`#entries tr[data-seq="${victim.seq}"]`).getAttribute("class")).toContain("bad");
    await page.getByRole("button", { name: `Open entry ${victim.seq}`, exact: true }).click();
    await expect
      .poll(() => page.locator("#detail-checks").textContent())
      .toBe("Its content does NOT match its hash: it was edited. It links to the entry before it.");
  });
});

describe("the auditor view's pager on a 100,000-entry log", { timeout: 300_000 }, () => {
  const ENTRIES = 100_000;
  let dir: string;
  let engine: LocalEngine;
  let server: ApprovalsServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ dir, engine, server, browser } = await openAuditView("audit-page-large-", async (opened) => {
      await fillLargeLog(opened, ENTRIES);
    }));
  });
  afterAll(async () => {
    await closeAuditView({ dir, engine, server, browser });
  });

  it("goes to the last page, back one, forward again and to the first, by the server's cursors", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/audit?token=${encodeURIComponent(server.token)}`);
    const rowSeqs = async () =>
      page.locator("#entries tbody tr").evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-seq"))));
    const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => first + i);
    const button = (name: string) => page.getByRole("button", { name, exact: true });

    await expect.poll(rowSeqs).toEqual(range(1, 50));
    expect(await button("Previous page").isDisabled()).toBe(true);
    await button("Last page").click();
    await expect.poll(rowSeqs).toEqual(range(ENTRIES - 49, 50));
    expect(await button("Next page").isDisabled()).toBe(true);
    expect(await button("Last page").isDisabled()).toBe(true);
    await button("Previous page").click();
    await expect.poll(rowSeqs).toEqual(range(ENTRIES - 99, 50));
    await button("Next page").click();
    await expect.poll(rowSeqs).toEqual(range(ENTRIES - 49, 50));
    await button("First page").click();
    await expect.poll(rowSeqs).toEqual(range(1, 50));
    expect(await page.locator("#page-info").textContent()).toBe("Entries 1\u201350 (50 shown, oldest first).");
    await page.close();
  });
});
