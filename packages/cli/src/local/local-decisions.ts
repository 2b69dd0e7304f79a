import type { WebClient } from "@slack/web-api";
import {
  ApproverDirectory,
  approvalDepsFromEngine,
  describeDecision,
  firstIssue,
  processAction,
  verifiedActionSchema,
  type ActionResult,
  type ApprovalDeps,
  type EngineDeps,
  type ExecutionOutcome,
  type Proposal,
} from "@hipaa-remediate/core";
import type { LocalOperator } from "./operator";
import { proposalView, type ProposalView } from "./proposal-view";

export const LOCAL_DECISION_KINDS = ["approve", "reject", "exempt"] as const;
export type LocalDecisionKind = (typeof LOCAL_DECISION_KINDS)[number];

/** A decision made at this machine, on the page or with the CLI, about the plan the person was shown. */
export interface LocalDecision {
  kind: LocalDecisionKind;
  proposalId: string;
  /** The hash of the plan the person saw; the core refuses the decision when the stored plan differs. */
  planHash: string;
  /** Why: required for an exemption, optional for a rejection. */
  reason?: string;
  /** Exemption length; the core's default (30 days) when absent. */
  days?: number;
}

export interface LocalDecisionOutcome {
  result: ActionResult;
  /** One sentence for the person who decided. */
  message: string;
  /** The proposal as it stands after the decision. */
  proposal?: ProposalView;
  /** How carrying out an approved plan ended. */
  execution?: ExecutionOutcome;
}

/** A decision whose fields do not pass the core's checks; `field` names the one at fault. */
export class InvalidDecisionError extends Error {
  constructor(
    message: string,
    readonly field: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "InvalidDecisionError";
  }
}

/** Approving applies the fix, which first re-checks live state: it cannot happen offline. */
export class LiveAccessRequiredError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LiveAccessRequiredError";
  }
}

export interface LocalDecisionsOptions {
  operator: LocalOperator;
  via: "web" | "cli";
  /** When set, a proposal that was posted to Slack gets its message updated with the local decision. */
  slack?: WebClient;
}

/**
 * Decisions from the local page and the CLI, through the same core as Slack's buttons (`processAction`): the same
 * checks (proposal open, not expired, plan hash unchanged), the same exactly-once transition, the same executor
 * and the same log entries; `decidedBy` records the operator with `via` "web" or "cli".
 *
 * Authorisation: the local operator is trusted. Anyone who can run the CLI on this machine, or who holds the
 * page's token, already holds the AWS credentials the engine acts with, so the policy's Slack approver list does
 * not apply here.
 */
export class LocalDecisions {
  private readonly deps: ApprovalDeps;

  constructor(
    private readonly engine: EngineDeps,
    private readonly options: LocalDecisionsOptions,
  ) {
    const trustedOperator = new ApproverDirectory({ users: [options.operator.id], userGroups: [] }, { now: engine.now });
    this.deps = approvalDepsFromEngine(engine, {
      approvers: trustedOperator,
      ...(options.slack ? { slack: options.slack } : {}),
    });
  }

  async decide(decision: LocalDecision): Promise<LocalDecisionOutcome> {
    if (decision.kind === "approve" && !this.engine.aws) {
      throw new LiveAccessRequiredError(
        "approving applies the fix after re-checking live AWS state, and this engine runs offline: use --live " +
          "(the standard AWS configuration, or --endpoint)",
      );
    }
    const parsed = verifiedActionSchema.safeParse({
      kind: decision.kind,
      via: this.options.via,
      proposalId: decision.proposalId,
      planHash: decision.planHash,
      user: { id: this.options.operator.id, name: this.options.operator.name },
      ...(decision.reason !== undefined ? { reason: decision.reason } : {}),
      ...(decision.days !== undefined ? { days: decision.days } : {}),
    });
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      throw new InvalidDecisionError(`${field}: ${message}`, field, { cause: parsed.error });
    }

    let execution: ExecutionOutcome | undefined;
    const result = await processAction(parsed.data, {
      ...this.deps,
      execute: async (proposal, decidedBy) => {
        execution = await this.deps.execute(proposal, decidedBy);
        return execution;
      },
    });
    const latest = await this.engine.proposals.get(decision.proposalId);
    return {
      result,
      message: await this.describe(result, decision, latest, execution),
      ...(latest ? { proposal: this.view(latest) } : {}),
      ...(execution ? { execution } : {}),
    };
  }

  view(proposal: Proposal): ProposalView {
    return proposalView(proposal, (id) => this.engine.index.byId(id));
  }

  private async describe(
    result: ActionResult,
    decision: LocalDecision,
    proposal: Proposal | undefined,
    execution: ExecutionOutcome | undefined,
  ): Promise<string> {
    switch (result) {
      case "applied":
        return "Applied and verified: the fix is in place.";
      case "failed":
        return execution?.status === "failed"
          ? `Failed at ${execution.stage}: ${execution.error.name}: ${execution.error.message}. The log has the details.`
          : "Failed; the log has the details.";
      case "no-longer-applies":
        return `No longer applies${execution?.status === "no-longer-applies" ? `: ${execution.reason}` : ""}. Nothing was changed.`;
      case "rejected":
        return "Rejected. Nothing was changed.";
      case "exempted":
        return `Exempted until ${await this.exemptedUntil(proposal)}. Nothing was changed.`;
      case "not-found":
        return `There is no proposal ${decision.proposalId}.`;
      case "expired":
        return `This proposal expired${proposal ? ` at ${proposal.expiresAt}` : ""}; nothing was changed.`;
      case "plan-changed":
        return "Refused: the plan hash does not match the stored proposal, so the plan is not the one you were shown. Nothing was changed.";
      case "already-decided":
        return proposal ? describeDecision(proposal) : "This proposal was already decided.";
      case "unauthorised":
        return "Refused: not authorised to decide proposals.";
      case "modal-opened":
      case "modal-failed":
        return "Slack-only action; nothing was done.";
    }
  }

  private async exemptedUntil(proposal: Proposal | undefined): Promise<string> {
    if (!proposal) return "(unknown)";
    const granted = (await this.deps.exemptions.list()).filter(
      (e) => e.source === "approval" && e.resource === proposal.finding.resource.arn && e.controls.includes(proposal.control),
    );
    return (
      granted
        .map((e) => e.expires)
        .sort()
        .at(-1) ?? "(unknown)"
    );
  }
}
