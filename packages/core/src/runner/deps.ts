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
  now: () => Date;
  logger: Logger;
  identity: EngineIdentity;
  regions: string[];
  account?: string;
  /** Re-delivers an event later when a control asks to look again; without it the runner decides at once. */
  deferrals?: DeferralQueue;
}

/**
 * The deps acting in `account`: its clients (the member role's, for an organisation account) and its id, so a
 * control reads and fixes the resource where it lives. May throw MemberAccountNotConfiguredError.
 */
export function depsForAccount(deps: EngineDeps, account: string): EngineDeps {
  // An event or resource without an account (some hand-made records) stays with the engine's own account.
  if (account === "" || (deps.account === account && deps.aws?.account === account)) return deps;
  return { ...deps, ...(deps.aws ? { aws: deps.aws.forAccount(account) } : {}), account };
}

/**
 * The context a control runs with. `reads` is the unit of work's shared read cache; the re-check before a change and
 * apply share a scope of their own (`ReadCache.forRecheck`), and verify and rollback get a fresh one, so nothing
 * they see was read before the change.
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
