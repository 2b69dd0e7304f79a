/**
 * Run as a separate process by approval-crash.test.ts: the real approval path (processAction with the engine's
 * executePlan, as the approval worker and the CLI wire it) on a SQLite database file and moto, approving one
 * proposal. At the named kill point it SIGKILLs itself, as an out-of-memory kill or a Lambda timeout would end the
 * worker. The fault is injected by wrapping the deps (proposal store, log, control), never by a hook in production.
 */
import { setTimeout as delay } from "node:timers/promises";
import {
  APPLIED_ENTRY_DEADLINE_MS,
  ApproverDirectory,
  approvalDepsFromEngine,
  createAwsClients,
  inMemoryGuard,
  openDatabase,
  parsePolicy,
  processAction,
  type AnyControl,
  type EngineDeps,
  type LogStore,
  type ProposalStore,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { APPROVAL_KILL_POINTS, type ApprovalKillPoint } from "./approval-kill-points";
import { crashChildEngineDeps } from "../../support/crash-child-engine";
import { interceptLogWrites } from "../../support/intercept-log-writes";
import { overrideMethods } from "../../support/override-methods";
import { die } from "../../support/process-death";

const [dbPath, endpoint, proposalId, killPoint, controlId, region, approverId] = process.argv.slice(2);
if (!dbPath || !endpoint || !proposalId || !killPoint || !controlId || !region || !approverId) {
  throw new Error("usage: <db path> <moto endpoint> <proposal id> <kill point> <control id> <region> <approver id>");
}
if (!(APPROVAL_KILL_POINTS as readonly string[]).includes(killPoint)) throw new Error(`unknown kill point ${killPoint}`);
const at = killPoint as ApprovalKillPoint;

function wrapProposals(proposals: ProposalStore): ProposalStore {
  return overrideMethods(proposals, {
    async transition(...args: Parameters<ProposalStore["transition"]>) {
      const moved = await proposals.transition(...args);
      if (at === "after-lease" && moved && args[2] === "applying") die();
      return moved;
    },
  });
}

function wrapLog(log: LogStore): LogStore {
  return interceptLogWrites(log, {
    after(entry) {
      const killed =
        (at === "after-approved-entry" && entry.stage === "approved") ||
        (at === "after-applied-entry" && entry.stage === "applied") ||
        (at === "after-verified-entry" && entry.stage === "verified");
      if (killed) die();
    },
  });
}

function wrapControl(control: AnyControl): AnyControl {
  return {
    ...control,
    async apply(plan, ctx) {
      const applied = await control.apply(plan, ctx);
      if (at === "after-apply") die();
      return applied;
    },
    async verify(plan, ctx) {
      // A verify slower than the deadline, so that `applied` is written on its own before it.
      if (at === "after-applied-entry") await delay(APPLIED_ENTRY_DEADLINE_MS + 100);
      return control.verify(plan, ctx);
    },
  };
}

const db = openDatabase(dbPath);
const policy = parsePolicy(JSON.stringify({ controls: { [controlId]: { mode: "approve" } } }), "crash test policy", controls);
const engine: EngineDeps = crashChildEngineDeps({
  db,
  policy,
  controlId,
  guard: inMemoryGuard(),
  aws: createAwsClients({
    endpoint,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    maxAttempts: 1,
    userAgent: "hipaa-remediate-crash-test",
  }),
  region,
  wrap: { control: wrapControl, log: wrapLog, proposals: wrapProposals },
});
const approvers = new ApproverDirectory({ users: [approverId], userGroups: [] }, { now: engine.now });
const deps = approvalDepsFromEngine(engine, { approvers });
const proposal = await engine.proposals.get(proposalId);
if (!proposal) throw new Error(`no proposal ${proposalId} in ${dbPath}`);
const result = await processAction(
  { kind: "approve", via: "cli", proposalId, planHash: proposal.planHash, user: { id: approverId, name: "crash-test approver" } },
  deps,
);
db.close();
process.stdout.write(result);
