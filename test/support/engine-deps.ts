import {
  ControlIndex,
  engineIdentity,
  inMemoryGuard,
  parsePolicy,
  silentLogger,
  SqliteExemptionStore,
  SqliteLogStore,
  SqliteProposalStore,
  SqliteRateLimiter,
  type AwsClients,
  type EngineDeps,
  type ProcessingGuard,
  type ProposalNotifier,
  type SqliteDatabase,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { MOTO_REGION } from "./moto";

export interface SqliteEngineOptions {
  aws?: AwsClients;
  /** The policy document, as it would be written in the file. */
  policy?: Record<string, unknown>;
  now?: () => Date;
  guard?: ProcessingGuard;
  notifier?: ProposalNotifier;
}

/** The engine's dependencies on one SQLite database and the real control registry, as the local runner builds them. */
export function sqliteEngineDeps(db: SqliteDatabase, options: SqliteEngineOptions = {}): EngineDeps {
  const policy = parsePolicy(JSON.stringify(options.policy ?? {}), "test policy", controls);
  return {
    index: new ControlIndex(controls),
    policy,
    log: new SqliteLogStore(db),
    guard: options.guard ?? inMemoryGuard(),
    rateLimiter: new SqliteRateLimiter(db, policy.rateLimit),
    proposals: new SqliteProposalStore(db),
    exemptions: new SqliteExemptionStore(db),
    ...(options.notifier ? { notifier: options.notifier } : {}),
    ...(options.aws ? { aws: options.aws } : {}),
    now: options.now ?? (() => new Date()),
    logger: silentLogger,
    identity: engineIdentity(policy, []),
    regions: [MOTO_REGION],
  };
}
