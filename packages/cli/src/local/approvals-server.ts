import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebClient } from "@slack/web-api";
import { z } from "zod";
import {
  acknowledge,
  approvalDepsFromEngine,
  errorFields,
  EXEMPTION_DAYS,
  EXEMPTION_MODAL,
  expireAndRemind,
  firstIssue,
  processAction,
  REPORT_STYLE,
  UnauthenticatedRequests,
  type ActionResult,
  type ApprovalDeps,
  type EngineDeps,
  type ExpireAndRemindResult,
} from "@hipaa-remediate/core";
import { APPROVALS_PAGE_HTML, APPROVALS_PAGE_SCRIPT, APPROVALS_PAGE_STYLE } from "./approvals-page";
import { AUDIT_API_PREFIX, handleAuditRequest, REPORT_STYLESHEET_PATH, type AuditContext } from "./audit-api";
import { AUDIT_PAGE_HTML, AUDIT_PAGE_SCRIPT, AUDIT_PAGE_STYLE } from "./audit-page";
import { takeInEvents } from "./event-intake";
import { flatHeaders, HttpError, readBody, send, sendError, sendJson } from "./http";
import { InvalidDecisionError, LiveAccessRequiredError, LocalDecisions, type LocalDecisionKind } from "./local-decisions";
import type { LocalOperator } from "./operator";
import { newAccessToken, RequestGuard } from "./request-guard";

export interface ApprovalsServerOptions {
  /** The engine the runner serves: its stores, policy, control registry and (with --live) AWS clients. */
  engine: EngineDeps;
  /** Who decides from the page; recorded as `decidedBy` with `via: "web"`. */
  operator: LocalOperator;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The interface to bind; loopback only unless told otherwise. */
  host?: string;
  /** The access token; a fresh random one when absent. */
  token?: string;
  /** Slack Web API client: updates a posted proposal's message after a local decision, and answers Slack clicks. */
  slack?: WebClient;
  /** Turns on `POST /slack/interactivity`. Needs `slack`, and live AWS because an approval applies the fix. */
  slackSigningSecret?: string;
  /** How often pending proposals are expired (and, with Slack, reminded). 0 turns it off. Default one minute. */
  housekeepingIntervalMs?: number;
  /** What the auditor view's report names as its store and policy. */
  audit?: AuditContext;
}

export interface ApprovalsServer {
  /** Where the server listens, e.g. `http://127.0.0.1:8765`. */
  url: string;
  /** The approvals page with the token, as printed at start-up. */
  pageUrl: string;
  token: string;
  /** Resolves once every request and every Slack action accepted so far has finished. */
  idle(): Promise<void>;
  /** Stops accepting requests, lets the ones in progress finish, then closes. */
  close(): Promise<void>;
}

export class ApprovalsServerConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ApprovalsServerConfigError";
  }
}

export const DEFAULT_HOUSEKEEPING_INTERVAL_MS = 60_000;
export const SLACK_INTERACTIVITY_PATH = "/slack/interactivity";
const API_BODY_LIMIT_BYTES = 64 * 1024;
const EVENTS_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

const PAGE_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STATIC_FILES: Readonly<Record<string, { type: string; body: string }>> = {
  "/": { type: "text/html; charset=utf-8", body: APPROVALS_PAGE_HTML },
  "/app.js": { type: "text/javascript; charset=utf-8", body: APPROVALS_PAGE_SCRIPT },
  "/app.css": { type: "text/css; charset=utf-8", body: APPROVALS_PAGE_STYLE },
  "/audit": { type: "text/html; charset=utf-8", body: AUDIT_PAGE_HTML },
  "/audit.js": { type: "text/javascript; charset=utf-8", body: AUDIT_PAGE_SCRIPT },
  "/audit.css": { type: "text/css; charset=utf-8", body: AUDIT_PAGE_STYLE },
  [REPORT_STYLESHEET_PATH]: { type: "text/css; charset=utf-8", body: REPORT_STYLE },
};

const DECISION_ROUTE = /^\/api\/proposals\/([^/]+)\/(approve|reject|exempt)$/;
const PROPOSAL_ROUTE = /^\/api\/proposals\/([^/]+)$/;

/** The body of a decision: the plan hash the page displayed, and a reason where one is asked for. */
const decisionBodySchema = z.object({
  planHash: z.string().regex(/^[0-9a-f]{64}$/, "expected the 64-hex-digit plan hash shown with the proposal"),
  reason: z.string().trim().min(1).max(EXEMPTION_MODAL.maxReasonLength).optional(),
});

/**
 * The local runner's HTTP server: the approvals page and its JSON API, Slack's interactivity endpoint, an events
 * endpoint for curl, and periodic expiry of pending proposals. Binds 127.0.0.1 unless told otherwise.
 */
export async function startApprovalsServer(options: ApprovalsServerOptions): Promise<ApprovalsServer> {
  const { engine } = options;
  if (options.slackSigningSecret && !options.slack) {
    throw new ApprovalsServerConfigError("Slack interactivity needs a Slack client (SLACK_BOT_TOKEN) as well as the signing secret");
  }
  if (options.slackSigningSecret && !engine.aws) {
    throw new ApprovalsServerConfigError("Slack interactivity needs live AWS access: approving applies the fix (use --live)");
  }
  const host = options.host ?? "127.0.0.1";
  const token = options.token ?? newAccessToken();
  let port = 0;
  const guard = new RequestGuard(token, host, () => port);
  const decisions = new LocalDecisions(engine, {
    operator: options.operator,
    via: "web",
    ...(options.slack ? { slack: options.slack } : {}),
  });
  const slackDeps = options.slackSigningSecret && options.slack ? approvalDepsFromEngine(engine, { slack: options.slack }) : undefined;
  // Refused before anyone was authenticated: counted (GET /api/metrics) and warned about, never audit-logged.
  const unauthenticated = new UnauthenticatedRequests({ logger: engine.logger, now: engine.now });
  const inFlight = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    const tracked = work.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  const handlers: RouteHandlers = {
    listProposals: async () => ({
      operator: options.operator,
      live: Boolean(engine.aws),
      exemption: {
        days: EXEMPTION_DAYS,
        minReasonLength: EXEMPTION_MODAL.minReasonLength,
        maxReasonLength: EXEMPTION_MODAL.maxReasonLength,
      },
      proposals: (await engine.proposals.listByStatus("pending")).map((p) => decisions.view(p)),
    }),
    getProposal: async (id) => {
      const proposal = await engine.proposals.get(id);
      if (!proposal) throw new HttpError(404, `there is no proposal ${id}`);
      return decisions.view(proposal);
    },
    decide: async (id, kind, rawBody) => {
      const body = parseDecisionBody(rawBody);
      try {
        const outcome = await decisions.decide({ kind, proposalId: id, ...body });
        return { status: statusFor(outcome.result), body: outcome };
      } catch (error) {
        if (error instanceof InvalidDecisionError) throw new HttpError(400, error.message, { field: error.field, cause: error });
        if (error instanceof LiveAccessRequiredError) throw new HttpError(409, error.message, { cause: error });
        throw error;
      }
    },
    events: async (rawBody) => {
      const result = await takeInEvents(rawBody, engine);
      if (result.kind === "unreadable") throw new HttpError(400, result.reason);
      // A body in which nothing was usable is the caller's mistake; otherwise each record carries its own result.
      const status = result.summary.records > 0 && result.summary.rejected === result.summary.records ? 400 : 200;
      return { status, body: result };
    },
    slack: async (rawBody, headers) => {
      if (!slackDeps || !options.slackSigningSecret) {
        throw new HttpError(404, "Slack interactivity is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN and start with --live");
      }
      const ack = await acknowledge(
        { rawBody, headers },
        { signingSecret: options.slackSigningSecret, now: engine.now, log: engine.log, logger: engine.logger, unauthenticated },
      );
      // Slack wants its answer within three seconds; the decision (which may apply a fix) runs after replying.
      if (ack.work) track(runSlackAction(ack.work, slackDeps));
      return ack;
    },
    metrics: async () => ({ unauthenticatedRequests: unauthenticated.snapshot() }),
    refusedToken: (reason) => unauthenticated.record("serve-token", reason),
    audit: (url, response) =>
      handleAuditRequest(engine, options.audit ?? { store: "the engine's store", policySource: "the engine's policy" }, url, response),
  };

  const server = createServer((request, response) => {
    track(
      handle(request, response, guard, handlers).catch((error: unknown) => {
        // The path only: the page's query string carries the token.
        engine.logger.error("approvals server request failed", { error: errorFields(error), path: request.url?.split("?")[0] });
        if (!response.headersSent) sendJson(response, 500, { error: `internal error: ${errorFields(error).message}` });
        else response.destroy();
      }),
    );
  });
  await listen(server, options.port ?? 0, host);
  port = (server.address() as AddressInfo).port;
  const url = `http://${displayHost(host)}:${port}`;

  const stopHousekeeping = startHousekeeping(engine, options, track);

  const idle = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  return {
    url,
    pageUrl: `${url}/?token=${encodeURIComponent(token)}`,
    token,
    idle,
    async close() {
      stopHousekeeping();
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      server.closeIdleConnections();
      await idle();
      server.closeAllConnections();
      await closed;
    },
  };
}

interface RouteHandlers {
  listProposals(): Promise<object>;
  getProposal(id: string): Promise<object>;
  decide(id: string, kind: LocalDecisionKind, rawBody: string): Promise<{ status: number; body: object }>;
  events(rawBody: string): Promise<{ status: number; body: object }>;
  slack(rawBody: string, headers: Record<string, string | undefined>): Promise<{ status: number; contentType: string; body: string }>;
  /** Counters of requests refused before authentication. */
  metrics(): Promise<object>;
  refusedToken(reason: string): void;
  /** The auditor view's read-only API; writes its own response (exports stream). */
  audit(url: URL, response: ServerResponse): Promise<void>;
}

async function handle(request: IncomingMessage, response: ServerResponse, guard: RequestGuard, handlers: RouteHandlers): Promise<void> {
  try {
    await route(request, response, guard, handlers);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    sendError(response, error);
  }
}

async function route(request: IncomingMessage, response: ServerResponse, guard: RequestGuard, handlers: RouteHandlers): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  const method = request.method ?? "GET";
  const headers = flatHeaders(request);

  // Slack reaches the runner through a tunnel under another host name; its signature is the proof here.
  if (path === SLACK_INTERACTIVITY_PATH) {
    requireMethod(method, "POST");
    const ack = await handlers.slack(await readBody(request, API_BODY_LIMIT_BYTES), headers);
    send(response, ack.status, ack.contentType, ack.body);
    return;
  }

  guard.checkHost(headers);
  guard.checkOrigin(headers);

  const file = STATIC_FILES[path === "/index.html" ? "/" : path];
  if (file) {
    // The page holds no data; everything it shows comes from the token-protected API.
    requireMethod(method === "HEAD" ? "GET" : method, "GET");
    send(response, 200, file.type, file.body, { "content-security-policy": PAGE_SECURITY_POLICY });
    return;
  }
  if (path === "/favicon.ico") {
    response.writeHead(204).end();
    return;
  }
  if (path !== "/events" && !path.startsWith("/api/")) throw new HttpError(404, `no route ${method} ${path}`);

  try {
    guard.checkToken(headers);
  } catch (error) {
    if (error instanceof HttpError) handlers.refusedToken(error.message);
    throw error;
  }
  if (path === "/api/metrics") {
    requireMethod(method, "GET");
    sendJson(response, 200, await handlers.metrics());
    return;
  }
  if (path.startsWith(AUDIT_API_PREFIX)) {
    requireMethod(method, "GET");
    await handlers.audit(new URL(request.url ?? "/", "http://localhost"), response);
    return;
  }
  if (path === "/api/proposals") {
    requireMethod(method, "GET");
    sendJson(response, 200, await handlers.listProposals());
    return;
  }
  const decision = DECISION_ROUTE.exec(path);
  if (decision?.[1] && decision[2]) {
    requireMethod(method, "POST");
    guard.checkJsonBody(headers);
    const result = await handlers.decide(
      proposalIdFrom(decision[1]),
      decision[2] as LocalDecisionKind,
      await readBody(request, API_BODY_LIMIT_BYTES),
    );
    sendJson(response, result.status, result.body);
    return;
  }
  const proposal = PROPOSAL_ROUTE.exec(path);
  if (proposal?.[1]) {
    requireMethod(method, "GET");
    sendJson(response, 200, await handlers.getProposal(proposalIdFrom(proposal[1])));
    return;
  }
  if (path === "/events") {
    requireMethod(method, "POST");
    guard.checkJsonBody(headers);
    const result = await handlers.events(await readBody(request, EVENTS_BODY_LIMIT_BYTES));
    sendJson(response, result.status, result.body);
    return;
  }
  throw new HttpError(404, `no route ${method} ${path}`);
}

function proposalIdFrom(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    throw new HttpError(400, "the proposal id in the path is not valid percent-encoding", { cause: error });
  }
}

function requireMethod(method: string, allowed: "GET" | "POST"): void {
  if (method !== allowed) throw new HttpError(405, `method ${method} not allowed here; use ${allowed}`);
}

function parseDecisionBody(rawBody: string): z.infer<typeof decisionBodySchema> {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch (error) {
    throw new HttpError(400, 'request body is not JSON: send {"planHash": "..."}', { cause: error });
  }
  const result = decisionBodySchema.safeParse(json);
  if (!result.success) {
    const { field, message } = firstIssue(result.error, "body");
    throw new HttpError(400, `${field}: ${message}`, { field, cause: result.error });
  }
  return result.data;
}

/** 200 when the decision was taken (whatever became of the fix: see `result`), 4xx when it was refused. */
function statusFor(result: ActionResult): number {
  switch (result) {
    case "not-found":
      return 404;
    case "unauthorised":
      return 403;
    case "plan-changed":
    case "already-decided":
    case "expired":
      return 409;
    default:
      return 200;
  }
}

async function runSlackAction(work: Parameters<typeof processAction>[0], deps: ApprovalDeps): Promise<void> {
  try {
    const result = await processAction(work, deps);
    deps.logger.info("processed Slack action", { kind: work.kind, proposalId: work.proposalId, result });
  } catch (error) {
    deps.logger.error("Slack action failed", { kind: work.kind, proposalId: work.proposalId, error: errorFields(error) });
  }
}

/** Expires overdue proposals (and, with Slack, sends the one reminder) on a timer that never keeps the process alive. */
function startHousekeeping(engine: EngineDeps, options: ApprovalsServerOptions, track: (work: Promise<unknown>) => void): () => void {
  const interval = options.housekeepingIntervalMs ?? DEFAULT_HOUSEKEEPING_INTERVAL_MS;
  if (interval <= 0) return () => {};
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const result: ExpireAndRemindResult = await expireAndRemind(
        {
          proposals: engine.proposals,
          log: engine.log,
          now: engine.now,
          logger: engine.logger,
          describeControl: (id) => engine.index.byId(id),
          ...(options.slack ? { slack: options.slack } : {}),
        },
        { reminderAfterMs: engine.policy.proposals.reminderAfterHours * 3_600_000 },
      );
      if (result.expired.length || result.reminded.length || result.resolved.length)
        engine.logger.info("proposal housekeeping", { ...result });
    } catch (error) {
      engine.logger.error("proposal housekeeping failed", { error: errorFields(error) });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => track(run()), interval);
  timer.unref();
  return () => clearInterval(timer);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function displayHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
