import type { WebClient } from "@slack/web-api";
import { depsForAccount, type EngineDeps } from "../runner/deps";
import { executePlan } from "../runner/execute";
import { ApproverDirectory } from "./approvers";
import type { ExemptionStore } from "./exemption-store";
import type { ApprovalDeps, ExecuteApprovedPlan } from "./interactivity";

/**
 * An approved proposal takes exactly the path an automatic fix takes: the engine's executePlan with the
 * proposal's control, which re-checks live state, applies, verifies and logs each stage.
 */
export function executeApprovedPlanWith(engine: EngineDeps): ExecuteApprovedPlan {
  return async (proposal, decidedBy) => {
    const control = engine.index.byId(proposal.control);
    if (!control) {
      return {
        status: "failed",
        stage: "recheck",
        error: { name: "UnknownControl", message: `control ${proposal.control} is not in the registry any more` },
      };
    }
    // The fix runs in the resource's account: through the member role when that is an organisation account.
    return executePlan(
      { control, plan: proposal.plan, finding: proposal.finding, proposalId: proposal.id, decidedBy },
      depsForAccount(engine, proposal.finding.resource.account),
    );
  };
}

export class ApprovalWiringError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ApprovalWiringError";
  }
}

/**
 * The approval dependencies that the engine's own dependencies already determine (Lambda worker, local runner).
 * Exemptions go to `extra.exemptions`, else to the engine's store, which the policy consults on later events.
 * Approvers are the policy's, unless `extra.approvers` says otherwise (the local runner trusts its operator).
 */
export function approvalDepsFromEngine(
  engine: EngineDeps,
  extra: { slack?: WebClient; exemptions?: ExemptionStore; approvers?: ApproverDirectory },
): ApprovalDeps {
  const exemptions = extra.exemptions ?? engine.exemptions;
  if (!exemptions) {
    throw new ApprovalWiringError("approvals need an exemption store: the engine has none and none was given");
  }
  return {
    proposals: engine.proposals,
    log: engine.log,
    ...(extra.slack ? { slack: extra.slack } : {}),
    approvers:
      extra.approvers ??
      new ApproverDirectory(engine.policy.approvers, { ...(extra.slack ? { slack: extra.slack } : {}), now: engine.now }),
    now: engine.now,
    execute: executeApprovedPlanWith(engine),
    exemptions,
    logger: engine.logger,
    describeControl: (id) => engine.index.byId(id),
  };
}
