import { statSync } from "node:fs";
import { Option, type Command } from "commander";
import {
  ControlIndex,
  DEFAULT_DATABASE_PATH,
  EXEMPTION_DAYS,
  expireAndRemind,
  MAX_EXEMPTION_DAYS,
  openDatabase,
  PROPOSAL_STATUSES,
  SqliteProposalStore,
  type ActionResult,
  type Proposal,
  type ProposalStatus,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { engineOptionsFromFlags, openLocalEngine, type LocalEngine } from "../local/engine";
import { InvalidDecisionError, LiveAccessRequiredError, LocalDecisions, type LocalDecision } from "../local/local-decisions";
import { localOperator } from "../local/operator";
import { formatProposal } from "../local/proposal-text";
import { proposalView, type ProposalView } from "../local/proposal-view";
import { stderrLogger } from "../output/stderr-logger";
import { renderTable } from "../output/table";
import { UsageError, withEngineOptions, type EngineCliOptions } from "./shared-options";

interface DecisionOptions extends EngineCliOptions {
  as?: string;
  reason?: string;
  days?: number;
  planHash?: string;
}

/** The command-line flag behind each field a decision is checked on, so an error names what the user typed. */
const FLAG_FOR_FIELD: Readonly<Record<string, string>> = { reason: "--reason", days: "--days", planHash: "--plan-hash" };

/** Outcomes after which the command succeeded; the others (refused, failed) exit 1. */
const SUCCESSFUL_RESULTS: ReadonlySet<ActionResult> = new Set(["applied", "rejected", "exempted", "no-longer-applies"]);

export function register(program: Command): void {
  const proposals = program
    .command("proposals")
    .description(
      "List, inspect and decide the fixes waiting for approval, without Slack. Decisions go through the same checks " +
        "as Slack's buttons and are logged with your OS user (and --as name) as the decider.",
    );

  proposals
    .command("list")
    .description("List proposals, oldest first.")
    .option("--db <file>", "local SQLite store", DEFAULT_DATABASE_PATH)
    .addOption(new Option("--status <status>", "only proposals in this status").choices([...PROPOSAL_STATUSES, "all"]).default("pending"))
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (options: { db: string; status: ProposalStatus | "all"; format: "table" | "json" }) => {
      await withProposalStore(options.db, async (store, view) => {
        const statuses = options.status === "all" ? PROPOSAL_STATUSES : [options.status];
        const found: Proposal[] = [];
        for (const status of statuses) found.push(...(await store.listByStatus(status)));
        const views = found.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(view);
        if (options.format === "json") {
          process.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
          return;
        }
        const rows = views.map((p) => [p.id, p.status, p.control.id, p.resource.arn, p.expiresAt, p.plan.summary]);
        process.stdout.write(
          rows.length
            ? `${renderTable(["ID", "Status", "Control", "Resource", "Expires", "Plan"], rows)}\n${rows.length} proposals\n`
            : `No ${options.status === "all" ? "" : `${options.status} `}proposals.\n`,
        );
      });
    });

  proposals
    .command("show")
    .description("Show one proposal: the change, the evidence, the plan steps, reversibility, expiry and plan hash.")
    .argument("<id>", "proposal id (see `proposals list`)")
    .option("--db <file>", "local SQLite store", DEFAULT_DATABASE_PATH)
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .action(async (id: string, options: { db: string; format: "text" | "json" }) => {
      await withProposalStore(options.db, async (store, view) => {
        const proposal = await store.get(id);
        if (!proposal) throw noSuchProposal(id);
        const shown = view(proposal);
        process.stdout.write(options.format === "json" ? `${JSON.stringify(shown, null, 2)}\n` : formatProposal(shown));
      });
    });

  decisionCommand(proposals, "approve", "Approve a proposal: re-check live state, apply the fix, verify it. Needs --live.")
    .option("--plan-hash <sha256>", "refuse unless the stored plan still has this hash (the one `show` printed)")
    .action(async (id: string, options: DecisionOptions) => {
      if (!options.live) {
        throw new UsageError(
          "approve applies the fix after re-checking live AWS state: add --live (uses the standard AWS configuration, or --endpoint)",
        );
      }
      await decide(id, options, (proposal) => ({ kind: "approve", proposalId: id, planHash: options.planHash ?? proposal.planHash }));
    });

  decisionCommand(proposals, "reject", "Reject a proposal: nothing is changed, the decision is logged.")
    .option("--reason <text>", "why (recorded in the log)")
    .action(async (id: string, options: DecisionOptions) => {
      await decide(id, options, (proposal) => ({
        kind: "reject",
        proposalId: id,
        planHash: proposal.planHash,
        ...(options.reason !== undefined ? { reason: options.reason } : {}),
      }));
    });

  decisionCommand(proposals, "exempt", "Exempt the resource from this control for a while: nothing is changed, later events are exempt.")
    .requiredOption("--reason <text>", "why; at least 10 characters, recorded with your name")
    .option("--days <n>", `how long the exemption lasts (1-${MAX_EXEMPTION_DAYS})`, parseDays, EXEMPTION_DAYS)
    .action(async (id: string, options: DecisionOptions) => {
      await decide(id, options, (proposal) => ({
        kind: "exempt",
        proposalId: id,
        planHash: proposal.planHash,
        reason: options.reason ?? "",
        ...(options.days !== undefined ? { days: options.days } : {}),
      }));
    });

  withEngineOptions(
    proposals.command("expire").description("Expire every pending proposal past its expiry (the runner does this every minute)."),
  ).action(async (options: EngineCliOptions) => {
    requireDatabase(options.db);
    const engine = await openEngine(options);
    try {
      const deps = engine.deps;
      const result = await expireAndRemind(
        { proposals: deps.proposals, log: deps.log, now: deps.now, logger: deps.logger, describeControl: (id) => deps.index.byId(id) },
        { reminderAfterMs: engine.policy.proposals.reminderAfterHours * 3_600_000 },
      );
      process.stdout.write(
        result.expired.length
          ? `expired ${result.expired.length} proposal(s): ${result.expired.join(", ")}\n`
          : "No pending proposal is past its expiry.\n",
      );
      for (const { proposalId, status } of result.resolved) {
        process.stdout.write(`proposal ${proposalId}: its apply was interrupted; closed as ${status} (the log says why)\n`);
      }
    } finally {
      await engine.close();
    }
  });
}

function decisionCommand(parent: Command, name: string, description: string): Command {
  return withEngineOptions(
    parent
      .command(name)
      .description(description)
      .argument("<id>", "proposal id (see `proposals list`)")
      .option("--as <name>", "your name for the log (default: your OS user name, which is always recorded)"),
  );
}

async function decide(id: string, options: DecisionOptions, build: (proposal: Proposal) => LocalDecision): Promise<void> {
  requireDatabase(options.db);
  const engine = await openEngine(options);
  try {
    const proposal = await engine.deps.proposals.get(id);
    if (!proposal) throw noSuchProposal(id);
    const decisions = new LocalDecisions(engine.deps, { operator: localOperator(options.as), via: "cli" });
    const outcome = await decisions.decide(build(proposal)).catch((error: unknown) => {
      if (error instanceof InvalidDecisionError) {
        throw new UsageError(`${FLAG_FOR_FIELD[error.field] ?? error.field}: ${error.message.replace(/^[^:]+: /, "")}`, { cause: error });
      }
      if (error instanceof LiveAccessRequiredError) throw new UsageError(error.message, { cause: error });
      throw error;
    });
    process.stdout.write(`proposal ${id}: ${outcome.message}\n`);
    if (!SUCCESSFUL_RESULTS.has(outcome.result)) process.exitCode = 1;
  } finally {
    await engine.close();
  }
}

function openEngine(options: EngineCliOptions): Promise<LocalEngine> {
  return openLocalEngine(engineOptionsFromFlags(options, stderrLogger(options.verbose)));
}

type ViewProposal = (proposal: Proposal) => ProposalView;

/** Read-only commands need neither the policy nor AWS: the store and the control registry are enough. */
async function withProposalStore(path: string, work: (store: SqliteProposalStore, view: ViewProposal) => Promise<void>): Promise<void> {
  requireDatabase(path);
  const db = openDatabase(path);
  try {
    const index = new ControlIndex(controls);
    await work(new SqliteProposalStore(db), (proposal) => proposalView(proposal, (id) => index.byId(id)));
  } finally {
    db.close();
  }
}

/** A typo in --db must not create an empty store and report that nothing is pending. */
function requireDatabase(path: string): void {
  if (path === ":memory:") return;
  try {
    statSync(path);
  } catch (error) {
    throw new UsageError(`no local store at ${path} (run the engine first, or pass --db)`, { cause: error });
  }
}

function noSuchProposal(id: string): UsageError {
  return new UsageError(`there is no proposal ${id} (see \`hipaa-remediate proposals list --status all\`)`);
}

function parseDays(text: string): number {
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1 || days > MAX_EXEMPTION_DAYS) {
    throw new UsageError(`--days must be a whole number from 1 to ${MAX_EXEMPTION_DAYS}, got "${text}"`);
  }
  return days;
}
