import { afterAll, beforeAll, beforeEach } from "vitest";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebClient } from "@slack/web-api";
import { isJsonObject, type JsonObject, type JsonValue } from "@hipaa-remediate/core";

/** One Web API call as Slack would have received it. */
export interface RecordedCall {
  method: string;
  /** Form or JSON arguments; form fields holding JSON (blocks, view) are parsed. */
  args: JsonObject;
  /** The bearer token the client sent. */
  token?: string;
}

/** A POST to an interaction's response_url. */
export interface RecordedResponse {
  path: string;
  body: JsonValue;
}

export interface SlackRecorder {
  /** Base URL; Web API calls go to `${url}/api/<method>`, anything else is treated as a response_url. */
  url: string;
  calls: RecordedCall[];
  responses: RecordedResponse[];
  callsTo(method: string): RecordedCall[];
  /** The members `usergroups.users.list` returns for a group (none by default). */
  setGroupMembers(group: string, users: string[]): void;
  /** Makes every later call to `method` answer `{ok: false, error}`, as Slack does for API errors. */
  failMethod(method: string, error: string): void;
  /** Forgets every call, response, group and failure, as a fresh Slack workspace. */
  reset(): void;
  /** A real WebClient pointed at this recorder, with retries off so a failure shows at once. */
  client(): WebClient;
  close(): Promise<void>;
}

export const TEST_BOT_TOKEN = "xoxb-test-token";

/**
 * A local stand-in for slack.com that records every call and answers the way Slack does, so tests exercise the
 * real @slack/web-api client (serialisation, errors) instead of a mock.
 */
export async function startSlackRecorder(): Promise<SlackRecorder> {
  const calls: RecordedCall[] = [];
  const responses: RecordedResponse[] = [];
  const groups = new Map<string, string[]>();
  const failures = new Map<string, string>();
  let messageCounter = 0;

  const answer = (method: string, args: JsonObject): JsonObject => {
    const failure = failures.get(method);
    if (failure) return { ok: false, error: failure };
    const channel = typeof args.channel === "string" ? args.channel : "C0APPROVALS";
    switch (method) {
      case "chat.postMessage": {
        messageCounter += 1;
        const ts = `1700000000.${String(messageCounter).padStart(6, "0")}`;
        return { ok: true, channel, ts, message: { ts, text: args.text ?? "" } };
      }
      case "chat.update":
        return { ok: true, channel, ts: args.ts ?? "", text: args.text ?? "" };
      case "chat.postEphemeral":
        return { ok: true, message_ts: "1700000000.999999" };
      case "views.open":
        return { ok: true, view: { id: "V0MODAL", ...(isJsonObject(args.view) ? args.view : {}) } };
      case "usergroups.users.list":
        return { ok: true, users: groups.get(String(args.usergroup)) ?? [] };
      default:
        return { ok: true };
    }
  };

  const record = async (request: IncomingMessage, response: ServerResponse) => {
    const text = await readBody(request);
    const path = new URL(request.url ?? "/", "http://recorder").pathname;
    const reply = (body: JsonObject) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (!path.startsWith("/api/")) {
      responses.push({ path, body: parseJson(text) });
      return reply({ ok: true });
    }
    const method = path.slice("/api/".length);
    const args = parseArgs(text, request.headers["content-type"] ?? "");
    const authorization = request.headers.authorization;
    const token = authorization?.startsWith("Bearer ") ? authorization.slice("Bearer ".length) : undefined;
    calls.push({ method, args, ...(token ? { token } : {}) });
    reply(answer(method, args));
  };
  // A request the recorder cannot read is answered 500, so the client under test fails loudly instead of hanging.
  const server = createServer((request, response) => {
    record(request, response).catch((error: unknown) => {
      response.writeHead(500, { "content-type": "text/plain" });
      response.end(`slack recorder: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    calls,
    responses,
    callsTo: (method) => calls.filter((call) => call.method === method),
    setGroupMembers: (group, users) => groups.set(group, users),
    failMethod: (method, error) => failures.set(method, error),
    reset: () => {
      calls.length = 0;
      responses.length = 0;
      groups.clear();
      failures.clear();
      messageCounter = 0;
    },
    client: () => new WebClient(TEST_BOT_TOKEN, { slackApiUrl: `${url}/api/`, retryConfig: { retries: 0 } }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

function parseArgs(text: string, contentType: string): JsonObject {
  if (contentType.includes("application/json")) {
    const json = parseJson(text);
    return isJsonObject(json) ? json : {};
  }
  const args: JsonObject = {};
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = /^[[{]/.test(value) ? parseJson(value) : value;
  }
  return args;
}

function parseJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/**
 * One recorder for a test file, started before its tests, reset before each test and closed after. Returns a
 * getter because the recorder exists only once `beforeAll` has run.
 */
export function useSlackRecorder(): () => SlackRecorder {
  let recorder: SlackRecorder | undefined;
  beforeAll(async () => {
    recorder = await startSlackRecorder();
  });
  beforeEach(() => recorder?.reset());
  afterAll(async () => {
    await recorder?.close();
  });
  return () => {
    if (!recorder) throw new Error("the Slack recorder starts in beforeAll; use it inside hooks and tests");
    return recorder;
  };
}
