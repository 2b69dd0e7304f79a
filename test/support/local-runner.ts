import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, vi } from "vitest";
import {
  ingestValue,
  processEvent,
  silentLogger,
  type ChangeEvent,
  type LogEntry,
  type Proposal,
  type ResourceRef,
} from "@hipaa-remediate/core";
import { openLocalEngine, type LocalEngine } from "../../packages/cli/src/local/engine";
import { eventBridgeEnvelope } from "./cloudtrail";
import type { ControlScenario } from "./control-scenario";
import { MOTO_CREDENTIALS, MOTO_REGION, type Moto } from "./moto";
import { collect } from "./log-drafts";

/**
 * The local engine as `hipaa-remediate --live --endpoint <moto>` builds it reads credentials from the standard
 * AWS configuration; this points that configuration at moto's test credentials for the file's tests.
 */
export function useMotoCredentialsInEnvironment(): void {
  beforeAll(() => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", MOTO_CREDENTIALS.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", MOTO_CREDENTIALS.secretAccessKey);
    vi.stubEnv("AWS_REGION", MOTO_REGION);
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });
}

export interface TestRunnerOptions {
  /** The policy document, written to a file as a user would (see `policyFor`). */
  policy: Record<string, unknown>;
  /** With AWS (moto) or offline. Default live. */
  live?: boolean;
  now?: () => Date;
}

/** The local engine on a temporary SQLite file and policy file, pointed at moto. */
export class TestRunner {
  private constructor(
    readonly dir: string,
    readonly dbPath: string,
    readonly policyPath: string,
    readonly engine: LocalEngine,
    private readonly moto: Moto,
  ) {}

  static async open(moto: Moto, options: TestRunnerOptions): Promise<TestRunner> {
    const dir = mkdtempSync(join(tmpdir(), "hipaa-local-runner-"));
    const policyPath = join(dir, "policy.json");
    writeFileSync(policyPath, JSON.stringify(options.policy));
    return TestRunner.start(moto, dir, join(dir, "engine.db"), policyPath, options);
  }

  /** A new engine on a closed runner's store and policy, e.g. the same store offline. */
  static reopen(previous: TestRunner, options: Omit<TestRunnerOptions, "policy">): Promise<TestRunner> {
    return TestRunner.start(previous.moto, previous.dir, previous.dbPath, previous.policyPath, options);
  }

  private static async start(
    moto: Moto,
    dir: string,
    dbPath: string,
    policyPath: string,
    options: Omit<TestRunnerOptions, "policy">,
  ): Promise<TestRunner> {
    const engine = await openLocalEngine({
      dbPath,
      policyPath,
      live: options.live ?? true,
      endpoint: moto.endpoint,
      logger: silentLogger,
      ...(options.now ? { now: options.now } : {}),
    });
    return new TestRunner(dir, dbPath, policyPath, engine, moto);
  }

  /** Arranges the scenario's violation in moto and runs its event through the engine; returns the new proposal. */
  async proposeFrom(
    scenario: ControlScenario,
    moto: Moto,
  ): Promise<{ proposal: Proposal; resource: ResourceRef; record: Record<string, unknown> }> {
    const { record, resource } = await scenario.arrangeViolation(moto);
    const report = await processEvent(changeEventOf(record), this.engine.deps);
    const proposalId = report.findings.find((f) => f.resource === resource.arn)?.proposalId;
    const proposal = proposalId ? await this.engine.deps.proposals.get(proposalId) : undefined;
    if (!proposal) throw new Error(`no proposal for ${resource.arn}: ${JSON.stringify(report)}`);
    return { proposal, resource, record };
  }

  async log(): Promise<LogEntry[]> {
    return collect(this.engine.deps.log.read());
  }

  /** The log entries about one proposal, in order. */
  async entriesFor(proposalId: string): Promise<LogEntry[]> {
    return (await this.log()).filter((entry) => entry.proposalId === proposalId);
  }

  async dispose(): Promise<void> {
    await this.engine.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A scenario's CloudTrail record as the engine receives it from EventBridge. */
export function changeEventOf(record: Record<string, unknown>): ChangeEvent {
  const [result] = ingestValue(eventBridgeEnvelope(record), "test");
  if (result?.kind !== "event") throw new Error(`the scenario record did not normalise: ${JSON.stringify(result)}`);
  return result.event;
}

/** The policy for one control in one mode, as a user writes it. */
export function policyFor(
  control: string,
  mode: "dry-run" | "approve" | "auto",
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { controls: { [control]: { mode } }, ...extra };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): unknown;
}

/**
 * A request with exactly the headers given, Host and Origin included, which fetch would not let a test set: the
 * server's DNS-rebinding and cross-origin defences are checked the way a hostile page would hit them.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, json: () => JSON.parse(body) });
      });
      response.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
