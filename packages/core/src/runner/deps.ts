import type { ExemptionStore } from "../approvals/exemption-store";
import type { AwsClients } from "../aws/clients";
import type { ControlContext, AnyControl, EngineIdentity } from "../controls/contract";
import type { ControlIndex } from "../controls/matcher";
import type { LogStore } from "../log/port";
import type { Policy } from "../policy/schema";
import { controlOptions, tagConventions } from "../policy";
import type { RateLimiter } from "../policy/rate-limiter";
import type { ProposalNotifier, ProposalStore } from "../proposals/proposal";
import type { Logger } from "../support/logger";
import { ReadCache } from "../support/read-cache";
import type { DeferralQueue } from "./deferral";
import type { ProcessingGuard } from "./idempotency";

/** Everything the pipeline needs, injected: the same pipeline runs in Lambda, in the CLI and in tests. */
export interface EngineDeps {
  index: ControlIndex;
  policy: Policy;
  log: LogStore;
  guard: ProcessingGuard;
  rateLimiter: RateLimiter;
  proposals: ProposalStore;
  /** Exemptions granted by approvers (Slack's "Exempt for 30 days"); they apply like the policy file's. */
  exemptions?: ExemptionStore;
  /** Slack when configured; without it proposals wait in the store for the local page or the CLI. */
  notifier?: ProposalNotifier;
  /** Absent offline: detection rests on the event alone and nothing is changed. */
  aws?: AwsClients;
  now(): Date;
  logger: Logger;
  identity: EngineIdentity;
  regions: string[];
  account?: string;
  /** Re-delivers an event later when a control asks to look again; without it the runner decides at once. */
  deferrals?: DeferralQueue;
}

/**
 * The context a control runs with. `reads` is the unit of work's shared read cache; apply, verify and rollback get
 * a fresh one, so nothing they see was read before the change.
 */
export function controlContext(control: AnyControl, deps: EngineDeps, reads: ReadCache = new ReadCache()): ControlContext {
  return {
    reads,
    ...(deps.aws ? { aws: deps.aws } : {}),
    now: deps.now,
    options: controlOptions(deps.policy, control),
    tags: tagConventions(deps.policy),
    engine: deps.identity,
    logger: deps.logger,
    regions: deps.regions,
    ...(deps.account ? { account: deps.account } : {}),
  };
}
