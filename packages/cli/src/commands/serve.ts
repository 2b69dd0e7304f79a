import type { Command } from "commander";
import type { WebClient } from "@slack/web-api";
import { DEFAULT_HOUSEKEEPING_INTERVAL_MS, SLACK_INTERACTIVITY_PATH, startApprovalsServer } from "../local/approvals-server";
import { engineOptionsFromFlags, openLocalEngine } from "../local/engine";
import { localOperator } from "../local/operator";
import { stderrLogger } from "../output/stderr-logger";
import { UsageError, withEngineOptions, type EngineCliOptions } from "./shared-options";

interface ServeOptions extends EngineCliOptions {
  port: number;
  host: string;
  as?: string;
  housekeeping: number;
  anchorEvery: number;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1"]);

export function register(program: Command): void {
  withEngineOptions(
    program
      .command("serve")
      .description(
        "Run the engine locally with the approvals page (a stand-in for Slack): pending proposals with Approve, " +
          "Reject and Exempt buttons, a JSON API, POST /events for CloudTrail events, and Slack interactivity when " +
          "SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set. Prints the page URL with its access token.",
      )
      .option("--port <n>", "port to listen on; 0 picks a free one", parsePort, 8765)
      .option("--host <address>", "interface to bind; the default keeps the page on this machine only", "127.0.0.1")
      .option("--as <name>", "your name for the log when deciding on the page (your OS user name is always recorded)")
      .option(
        "--housekeeping <seconds>",
        "expire overdue proposals (and send Slack reminders) this often; 0 turns it off",
        parseSeconds,
        DEFAULT_HOUSEKEEPING_INTERVAL_MS / 1000,
      )
      .option(
        "--anchor-every <seconds>",
        "publish the log's head to the anchors file this often when entries were appended (and always on exit); 0: only on exit",
        parseSeconds,
        DEFAULT_ANCHOR_INTERVAL_S,
      ),
  ).action(async (options: ServeOptions) => {
    const logger = stderrLogger(options.verbose);
    const slack = await slackFromEnvironment();
    const engine = await openLocalEngine({
      ...engineOptionsFromFlags(options, logger),
      rechecks: "timer",
      ...(slack.client
        ? { slack: { client: slack.client, ...(process.env.SLACK_CHANNEL ? { channel: process.env.SLACK_CHANNEL } : {}) } }
        : {}),
    });
    // Slack's Approve applies the fix, which needs AWS: offline, its clicks are not accepted at all.
    const slackInteractivity = slack.client && slack.signingSecret && options.live;
    try {
      const server = await startApprovalsServer({
        engine: engine.deps,
        operator: localOperator(options.as),
        port: options.port,
        host: options.host,
        housekeepingIntervalMs: options.housekeeping * 1000,
        audit: { store: `sqlite:${options.db}`, policySource: options.policy ?? "built-in default policy (dry-run everywhere)" },
        ...(slack.client ? { slack: slack.client } : {}),
        ...(slackInteractivity && slack.signingSecret ? { slackSigningSecret: slack.signingSecret } : {}),
      });
      const slackNote = slackInteractivity
        ? `POST ${server.url}${SLACK_INTERACTIVITY_PATH} (signed requests only)`
        : `off (${!slack.signingSecret || !slack.client ? "set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN" : "needs --live"})`;
      process.stderr.write(
        [
          "hipaa-remediate approvals runner",
          `  page:   ${server.pageUrl}`,
          `  audit:  ${server.url}/audit?token=${encodeURIComponent(server.token)}  (the log, its verification, the report and exports)`,
          `  token:  ${server.token}  (send "Authorization: Bearer <token>" to /api/* and /events)`,
          `  events: POST ${server.url}/events`,
          `  slack:  ${slackNote}`,
          `  AWS:    ${options.live ? `live${options.endpoint ? ` at ${options.endpoint}` : " (standard AWS configuration)"}` : "offline: approving is disabled, start with --live to apply fixes"}`,
          ...(LOOPBACK_HOSTS.has(options.host)
            ? []
            : [`  warning: listening on ${options.host}; anyone who can reach it and holds the token can decide proposals`]),
          "Stop with Ctrl+C.",
          "",
        ].join("\n"),
      );
      // A long-running server anchors as it goes, so a tail deleted while it runs is caught, not just at exit.
      const anchoring = options.anchorEvery > 0 ? setInterval(() => void engine.anchorIfAdvanced(), options.anchorEvery * 1000) : undefined;
      anchoring?.unref();
      const signal = await untilStopSignal();
      process.stderr.write(`${signal}: stopping after the requests in progress\n`);
      clearInterval(anchoring);
      await server.close();
    } finally {
      await engine.close();
    }
  });
}

/** Loaded only when a token is set: the Slack client and its HTTP stack would cost every other command's start. */
async function slackFromEnvironment(): Promise<{ client?: WebClient; signingSecret?: string }> {
  const token = process.env.SLACK_BOT_TOKEN;
  const apiUrl = process.env.SLACK_API_URL;
  const signingSecret = process.env.SLACK_SIGNING_SECRET;
  const client = token ? new (await import("@slack/web-api")).WebClient(token, apiUrl ? { slackApiUrl: apiUrl } : {}) : undefined;
  return {
    ...(client ? { client } : {}),
    ...(signingSecret ? { signingSecret } : {}),
  };
}

function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be 0-65535, got "${text}"`);
  return port;
}

const DEFAULT_ANCHOR_INTERVAL_S = 60;

function parseSeconds(text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`expected a number of seconds (0 or more), got "${text}"`);
  return seconds;
}
