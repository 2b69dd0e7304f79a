import {
  anchorsPathFor,
  ControlIndex,
  errorFields,
  FileAnchorStore,
  publishHead,
  createAwsClients,
  InProcessDeferralQueue,
  processEvent,
  DEFAULT_DATABASE_PATH,
  engineIdentity,
  inMemoryGuard,
  loadPolicy,
  openDatabase,
  powertoolsGuard,
  SqliteIdempotencyStore,
  SqliteLogStore,
  SqliteProposalStore,
  SqliteRateLimiter,
  SqliteExemptionStore,
  SlackNotifier,
  type Anchor,
  type AnchorStore,
  type EngineDeps,
  type Logger,
  type Policy,
  type SqliteDatabase,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { WebClient } from "@slack/web-api";

export interface LocalEngineOptions {
  /** SQLite file holding the log, proposals, idempotency records and rate-limit counters. */
  dbPath?: string;
  policyPath?: string;
  /**
   * Use AWS (the standard configuration, or `endpoint`): detection confirms against live state and the
   * policy's modes apply. Without it nothing is read from or changed in AWS and every decision is dry-run.
   */
  live?: boolean;
  endpoint?: string;
  /**
   * With `live`, how a control's "look again later" is honoured: `timer` re-runs the event after its delay
   * (serve); `at-end` keeps it for `LocalEngine.deferrals.drain` at the end of a run (replay). Absent: decided at once.
   */
  rechecks?: "timer" | "at-end";
  regions?: string[];
  now?: () => Date;
  logger: Logger;
  /**
   * Slack for new proposals: posted to `channel`, else to the policy's `slack.channel`. Without it (or without a
   * channel) proposals wait in the store for the local page and the CLI.
   */
  slack?: { client: WebClient; channel?: string };
}

export interface LocalEngine {
  deps: EngineDeps;
  policy: Policy;
  db: SqliteDatabase;
  /** Where the log's head is anchored (absent for an in-memory database, which leaves nothing to verify later). */
  anchors?: AnchorStore;
  /**
   * Publishes the log's head when entries were appended since the last anchor (or since the engine opened).
   * Never throws: a failed anchor is logged, and the next call tries again.
   */
  anchorIfAdvanced(): Promise<Anchor | undefined>;
  /** The in-process queue of deferred re-checks, when `rechecks` was asked for. */
  deferrals?: InProcessDeferralQueue;
  /** Anchors (see anchorIfAdvanced), then closes the database. */
  close(): Promise<void>;
}

/** The whole engine in one process, on the embedded SQLite store. */
export async function openLocalEngine(options: LocalEngineOptions): Promise<LocalEngine> {
  // The policy file, or the built-in default (dry-run everywhere); validated here, before anything runs.
  const policy = await loadPolicy(options.policyPath, controls);
  const db = openDatabase(options.dbPath ?? DEFAULT_DATABASE_PATH);
  const identity = engineIdentity(policy, []);
  const slackChannel = options.slack?.channel ?? policy.slack.channel;
  const regions = options.regions ?? [process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1"];
  const deferrals =
    options.live && options.rechecks
      ? new InProcessDeferralQueue(options.logger, options.rechecks === "timer" ? (event) => processEvent(event, deps) : undefined)
      : undefined;
  const deps: EngineDeps = {
    index: new ControlIndex(controls),
    policy,
    log: new SqliteLogStore(db),
    // Live, idempotency records persist, so no event is ever acted on twice. Offline nothing is changed, so
    // duplicates are only collapsed within one run and the same files can be replayed again.
    guard: options.live ? powertoolsGuard(new SqliteIdempotencyStore(db)) : inMemoryGuard(),
    rateLimiter: new SqliteRateLimiter(db, policy.rateLimit),
    proposals: new SqliteProposalStore(db),
    // Exemptions granted from the local page, the CLI or Slack apply to later events like the policy file's.
    exemptions: new SqliteExemptionStore(db),
    ...(slackChannel && options.slack
      ? {
          notifier: new SlackNotifier(options.slack.client, {
            channel: slackChannel,
            describeControl: (id) => controls.find((c) => c.id === id),
          }),
        }
      : {}),
    ...(options.live
      ? { aws: createAwsClients({ userAgent: identity.userAgent, ...(options.endpoint ? { endpoint: options.endpoint } : {}) }) }
      : {}),
    now: options.now ?? (() => new Date()),
    logger: options.logger,
    identity,
    regions,
    ...(deferrals ? { deferrals } : {}),
  };
  const dbPath = options.dbPath ?? DEFAULT_DATABASE_PATH;
  const anchors = dbPath === ":memory:" ? undefined : new FileAnchorStore(anchorsPathFor(dbPath));
  const anchorIfAdvanced = anchors ? headAnchorer(deps, anchors, await headSeq(deps)) : async () => undefined;
  return {
    deps,
    policy,
    db,
    ...(deferrals ? { deferrals } : {}),
    ...(anchors ? { anchors } : {}),
    anchorIfAdvanced,
    async close() {
      deferrals?.close();
      await anchorIfAdvanced();
      db.close();
    },
  };
}

/** The head's seq, or undefined for an empty log, or one whose head cannot be read (verify will say why). */
async function headSeq(deps: EngineDeps): Promise<number | undefined> {
  try {
    return (await deps.log.head())?.seq;
  } catch {
    return undefined;
  }
}

/** A run that appended anchors its new head at the end; one that appended nothing publishes nothing. */
function headAnchorer(deps: EngineDeps, anchors: AnchorStore, initialSeq: number | undefined): () => Promise<Anchor | undefined> {
  let anchoredSeq = initialSeq;
  return async () => {
    try {
      const head = await deps.log.head();
      if (!head || head.seq === anchoredSeq) return undefined;
      const anchor = await publishHead({ head: async () => head }, anchors, deps.now);
      anchoredSeq = head.seq;
      deps.logger.debug("anchored the log head", { seq: head.seq, anchors: anchors.location });
      return anchor;
    } catch (error) {
      deps.logger.warn("could not anchor the log head", { anchors: anchors.location, error: errorFields(error) });
      return undefined;
    }
  };
}

/** The engine options every engine-backed command derives from the shared flags (see `withEngineOptions`). */
export function engineOptionsFromFlags(
  flags: { db: string; live: boolean; policy?: string; endpoint?: string; region?: string[] },
  logger: Logger,
): LocalEngineOptions {
  return {
    dbPath: flags.db,
    live: flags.live,
    logger,
    ...(flags.policy ? { policyPath: flags.policy } : {}),
    ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
    ...(flags.region ? { regions: flags.region } : {}),
  };
}
