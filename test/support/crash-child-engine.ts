import {
  ControlIndex,
  engineIdentity,
  silentLogger,
  SqliteExemptionStore,
  SqliteLogStore,
  SqliteProposalStore,
  SqliteRateLimiter,
  type AnyControl,
  type AwsClients,
  type EngineDeps,
  type LogStore,
  type Policy,
  type ProposalStore,
  type SqliteDatabase,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";

export interface CrashChildWrappers {
  /** Wraps the control under test, e.g. to die after its apply. */
  control(control: AnyControl): AnyControl;
  log(log: LogStore): LogStore;
  proposals?(proposals: ProposalStore): ProposalStore;
}

/**
 * The local engine's dependencies on one SQLite file, for the child processes that crash tests kill: the real
 * stores and registry, with the control under test, the log and optionally the proposals wrapped with kill points.
 * Safe to import from a child process (no vitest).
 */
export function crashChildEngineDeps(options: {
  db: SqliteDatabase;
  policy: Policy;
  controlId: string;
  aws: AwsClients;
  guard: EngineDeps["guard"];
  region: string;
  wrap: CrashChildWrappers;
}): EngineDeps {
  const { db, policy, wrap } = options;
  const proposals = new SqliteProposalStore(db);
  return {
    index: new ControlIndex(controls.map((control) => (control.id === options.controlId ? wrap.control(control) : control))),
    policy,
    log: wrap.log(new SqliteLogStore(db)),
    guard: options.guard,
    rateLimiter: new SqliteRateLimiter(db, policy.rateLimit),
    proposals: wrap.proposals ? wrap.proposals(proposals) : proposals,
    exemptions: new SqliteExemptionStore(db),
    aws: options.aws,
    now: () => new Date(),
    logger: silentLogger,
    identity: engineIdentity(policy, []),
    regions: [options.region],
  };
}
