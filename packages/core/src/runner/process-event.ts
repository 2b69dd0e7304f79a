import { randomUUID } from "node:crypto";
import type { ChangeEvent } from "../events/change-event";
import { eventRef } from "../events/change-event";
import type { AnyControl, Finding, RecheckLater, ResourceRef, Verdict } from "../controls/contract";
import type { ControlMatch } from "../controls/matcher";
import { AwsAccessDeniedError } from "../aws/access-denied";
import { carriesEngineUserAgent, decide, isEngineChange } from "../policy";
import type { Decision, DecisionMode } from "../policy/decision";
import type { LogEntry } from "../log/entry";
import { OPEN_PROPOSAL_STATUSES, type Proposal } from "../proposals/proposal";
import { ReadCache } from "../support/read-cache";
import { MAX_RECHECKS, deferralDelaySeconds } from "./deferral";
import { controlContext, depsForAccount, type EngineDeps } from "./deps";
import { executePlan, startRecheck, type EarlyRecheck } from "./execute";
import { finishStartedFix, startedFixes, type StartedFix } from "./interrupted-fix";
import { OrderedLogWriter } from "./ordered-log-writer";
import { rejectOutOfScope } from "./scope-check";
import { errorFields, findingFields, planFields, planHash, resourceFields } from "./log-fields";

/** What happened to one finding; the CLI prints these and the summary counts them. */
export interface FindingReport {
  eventId: string;
  eventName: string;
  control: string;
  category: string;
  resource: string;
  /** What the engine did: dry-run, approve, auto, exempt or suppressed. */
  decision: DecisionMode;
  reason: string;
  summary: string;
  confirmed: boolean;
  /** For auto: verified, failed or no-longer-applies. For approve: proposed. For dry-run: would-remediate. */
  outcome: string;
  proposalId?: string;
}

export interface EventReport {
  eventId: string;
  /** rejected: outside the policy's scope (region or account); logged with the reason. */
  status: "processed" | "ignored" | "unmatched" | "rejected";
  reason?: string;
  findings: FindingReport[];
  /** Resources the event pointed at that were already compliant or gone. */
  noLongerApplies: number;
  /** (control, resource) pairs skipped because this event had already been processed for them. */
  duplicates: number;
  /** (control, resource) pairs a control asked to look at again later; the event was re-queued for them. */
  deferred: number;
  /** (control, resource) pairs whose handling failed; the error is in the log. */
  failures: number;
  /** Those of the failures that AWS refused (access denied): retrying cannot help, so the event is not redelivered. */
  denied: number;
}

/** Marker used in the idempotency store; the report is rebuilt from it on redelivery. */
interface HandledResource {
  findings: FindingReport[];
  noLongerApplies: number;
  /** Absent in markers written before deferral existed. */
  deferred?: number;
}

/** What the transport says about this delivery of the event. */
export interface Delivery {
  /**
   * SQS's ApproximateReceiveCount. On a first delivery no earlier attempt can have died mid-fix, so the log is not
   * searched for one; unknown (local runs) means it is searched.
   */
  receiveCount?: number;
}

/**
 * The engine pipeline for one normalised event: match, scope check, loop guard, then in the event's account
 * detect, decide, and dry-run, propose or apply. Every step is logged; an error in one control never stops the others.
 */
export async function processEvent(event: ChangeEvent, deps: EngineDeps, delivery: Delivery = {}): Promise<EventReport> {
  const report: EventReport = {
    eventId: event.id,
    status: "processed",
    findings: [],
    noLongerApplies: 0,
    duplicates: 0,
    deferred: 0,
    failures: 0,
    denied: 0,
  };
  const matches = deps.index.match(event);
  if (matches.length === 0) return { ...report, status: "unmatched", reason: `no control listens to ${event.source} ${event.name}` };

  const outOfScope = await rejectOutOfScope(event, deps);
  if (outOfScope !== undefined) return { ...report, status: "rejected", reason: outOfScope };

  const at = () => deps.now().toISOString();
  const actor = eventRef(event).actor;
  if (isEngineChange(event, deps.identity)) {
    const reason = "change made by the engine itself (loop guard)";
    await deps.log.append({ stage: "ignored", at: at(), eventId: event.id, actor, source: event.origin, reason });
    return { ...report, status: "ignored", reason };
  }
  if (carriesEngineUserAgent(event, deps.identity)) {
    // Anyone can send the engine's user agent: it exempts nothing, but someone imitating the engine is worth a note.
    deps.logger.warn("change carries the engine's user agent but not the engine's principal; handled as any other", {
      eventId: event.id,
      actor,
    });
  }
  // From here on the engine reads and fixes in the event's account: the member role's clients for a member account.
  deps = depsForAccount(deps, event.account);

  // The entry is written with the first write of the event's first unit of work (whose writer carries it), or on
  // its own before any entry written directly; either way nothing about the event is in the log without it, and a
  // failure to write it ends the event.
  const eventLog = new OrderedLogWriter(deps.log);
  eventLog.append({
    stage: "received",
    at: at(),
    eventId: event.id,
    actor,
    source: event.origin,
    // eventTime is when the change was made: audit reports measure time to remediate from it.
    details: { eventSource: event.source, eventName: event.name, eventTime: event.time, region: event.region, account: event.account },
  });

  /** What every entry about this event and one control (and resource) carries. */
  const about = (control: AnyControl, resource?: ResourceRef) => ({
    eventId: event.id,
    actor,
    control: control.id,
    ...(resource ? { resource: resourceFields(resource) } : {}),
  });

  // Controls that share a resource type share its reads (tags, settings) while this event is handled.
  const reads = new ReadCache();
  // What earlier attempts at this event logged: read once, only by a live engine (the only one that applies), and
  // only when an earlier attempt is possible.
  const mayFollowAnAttempt = deps.aws !== undefined && delivery.receiveCount !== 1;
  let earlierEntries: Promise<LogEntry[]> | undefined;
  const earlier = () => (earlierEntries ??= mayFollowAnAttempt ? deps.log.byEvent(event.id) : Promise.resolve([]));
  for (const match of matches) {
    let resources: ResourceRef[];
    try {
      resources = match.trigger.resources(event);
    } catch (error) {
      report.failures += 1;
      await eventLog.flush();
      await deps.log.append({
        ...about(match.control),
        stage: "failed",
        at: at(),
        reason: "could not extract the resource from the event",
        error: errorFields(error),
      });
      continue;
    }
    if (resources.length === 0) {
      // Matched by name, but nothing in it for this control (a field of the wrong type, a change that cannot
      // violate): the received event still ends with an entry of its own.
      await eventLog.flush();
      await deps.log.append({
        ...about(match.control),
        stage: "ignored",
        at: at(),
        reason: `the event names no resource ${match.control.id} acts on`,
      });
      continue;
    }
    for (const resource of resources) {
      // A re-check is a new pass over the same event: it gets its own key, while a redelivery of it is still caught.
      const pass = event.recheck ? `|recheck-${event.recheck}` : "";
      const key = `${event.id}|${match.control.id}|${resource.arn}${pass}`;
      // Detection only reads: a live engine starts it while the idempotency record is taken, rather than after.
      // Nothing acts before the guard admits the unit of work; a redelivery's reads are simply not used.
      const detection = deps.aws ? startDetection(match.control, resource, event, deps, reads) : undefined;
      /** The unit's entries still being written once the guard has been told the unit is done (see below). */
      let tail: OrderedLogWriter | undefined;
      try {
        const guarded = await deps.guard.once<HandledResource>(key, async () => {
          // Written in order behind `received`, and before the guard completes the idempotency record...
          const log = new OrderedLogWriter(deps.log, eventLog);
          const started = startedFixes(await earlier(), key);
          const handled = await log.run(() =>
            started.length > 0
              ? finishStartedFixes(event, match.control, started, deps, log)
              : handleResource(event, match, resource, deps, { reads, unitOfWork: key, log }, detection),
          );
          // ...except once the unit's `applying` entry is in the log: a redelivery the guard turns away then
          // finishes the fix's log from it (below), so what follows it is written while the record completes.
          if (log.hasWritten("applying")) {
            log.writePending();
            tail = log;
            return handled;
          }
          await log.flush();
          return handled;
        });
        await tail?.flush();
        if (guarded.replayed) {
          report.duplicates += 1;
          // An earlier attempt whose record completed before its last entries were written (it died in between).
          const unfinished = startedFixes(await earlier(), key).filter((fix) => !fix.finished);
          if (unfinished.length > 0) {
            const finished = await finishStartedFixes(event, match.control, unfinished, deps, eventLog);
            report.findings.push(...finished.findings);
            continue;
          }
          await eventLog.flush();
          await deps.log.append({
            ...about(match.control, resource),
            stage: "ignored",
            at: at(),
            reason: "already processed for this event (redelivery)",
          });
          continue;
        }
        report.findings.push(...guarded.result.findings);
        report.noLongerApplies += guarded.result.noLongerApplies;
        report.deferred += guarded.result.deferred ?? 0;
      } catch (error) {
        // The unit's last entries, still being written when the record could not be completed, come before what is
        // logged about the failure (their own failure, if that is what this is, is the error handled here).
        await tail?.flush().catch(() => undefined);
        // A `received` entry that could not be written ends the event, as it did when it was awaited.
        await eventLog.flush();
        report.failures += 1;
        const denied = error instanceof AwsAccessDeniedError;
        if (denied) report.denied += 1;
        deps.logger.error(`${match.control.id}: handling ${resource.arn} failed`, { error: errorFields(error) });
        await deps.log.append({
          ...about(match.control, resource),
          hipaa: match.control.hipaa.sections,
          stage: "failed",
          at: at(),
          reason: denied ? `access denied, not retried: ${error.message}` : "detection or handling failed",
          error: errorFields(error),
        });
      }
    }
  }
  await eventLog.flush();
  return report;
}

/** Where a finding was found: the unit of work's reads, and its idempotency key when it has one. */
interface FindingScope {
  reads: ReadCache;
  unitOfWork?: string;
}

/** The unit of work's log writer: it must be flushed before any side effect outside the log. */
type LoggedScope = Partial<FindingScope> & { log: OrderedLogWriter };

/**
 * When an earlier attempt at this unit of work died after logging `applying`, finishes those fixes' log from the
 * resource's state now, and does not detect or apply again.
 */
async function finishStartedFixes(
  event: ChangeEvent,
  control: AnyControl,
  started: readonly StartedFix[],
  deps: EngineDeps,
  log: OrderedLogWriter,
): Promise<HandledResource> {
  // finishStartedFix appends directly, after what this attempt has issued.
  await log.flush();
  const findings: FindingReport[] = [];
  for (const fix of started) {
    const outcome = await finishStartedFix(control, fix, deps);
    const reason = "an earlier attempt was interrupted mid-fix; finished on redelivery without applying again";
    findings.push({
      eventId: event.id,
      eventName: event.name,
      control: control.id,
      category: control.category,
      resource: fix.applying.plan.resource.arn,
      decision: "auto",
      reason,
      summary: fix.applying.plan.summary,
      confirmed: true,
      outcome,
    });
  }
  return { findings, noLongerApplies: 0, deferred: 0 };
}

/** Detection begun ahead of the guard; its failure is the guarded work's, and is not left unhandled when unused. */
function startDetection(
  control: AnyControl,
  resource: ResourceRef,
  event: ChangeEvent,
  deps: EngineDeps,
  reads: ReadCache,
): Promise<Verdict[]> {
  const verdicts = Promise.resolve().then(() => control.detect({ resource, event }, controlContext(control, deps, reads)));
  verdicts.catch(() => undefined);
  return verdicts;
}

async function handleResource(
  event: ChangeEvent,
  match: ControlMatch,
  resource: ResourceRef,
  deps: EngineDeps,
  scope: FindingScope & LoggedScope,
  detection?: Promise<Verdict[]>,
): Promise<HandledResource> {
  const { control } = match;
  const verdicts = await (detection ?? control.detect({ resource, event }, controlContext(control, deps, scope.reads)));
  const handled: HandledResource = { findings: [], noLongerApplies: 0, deferred: 0 };
  for (const verdict of verdicts) {
    if (verdict.kind === "no-longer-applies") {
      handled.noLongerApplies += 1;
      scope.log.append({
        stage: "no-longer-applies",
        at: deps.now().toISOString(),
        eventId: event.id,
        actor: eventRef(event).actor,
        control: control.id,
        hipaa: control.hipaa.sections,
        resource: resourceFields(verdict.resource),
        reason: verdict.reason,
      });
      continue;
    }
    if (verdict.kind === "recheck-later") {
      const decideNow = await deferOrDecideNow(event, control, verdict, deps, scope.log);
      if (decideNow === undefined) {
        handled.deferred = (handled.deferred ?? 0) + 1;
        continue;
      }
      handled.findings.push(await handleFinding(control, verdict.finding, deps, `${verdict.reason}; ${decideNow}`, scope));
      continue;
    }
    handled.findings.push(await handleFinding(control, verdict.finding, deps, undefined, scope));
  }
  return handled;
}

/**
 * Re-queues the event for a later look (logged `deferred`) and returns undefined; or, without a deferral queue
 * or after too many re-checks, returns why the finding is decided now, on the current state.
 */
async function deferOrDecideNow(
  event: ChangeEvent,
  control: AnyControl,
  verdict: RecheckLater,
  deps: EngineDeps,
  log: OrderedLogWriter,
): Promise<string | undefined> {
  const pass = (event.recheck ?? 0) + 1;
  if (!deps.deferrals) return "no deferral queue in this run: decided at once on the current state";
  if (pass > MAX_RECHECKS) return `already re-checked ${MAX_RECHECKS} times: decided on the current state`;
  const afterSeconds = deferralDelaySeconds(verdict.afterSeconds);
  await log.flush();
  await deps.deferrals.defer({ ...event, recheck: pass }, afterSeconds);
  log.append({
    ...findingFields(control, verdict.finding),
    stage: "deferred",
    at: deps.now().toISOString(),
    reason: `${verdict.reason}; re-check ${pass} in ${afterSeconds}s`,
    details: { afterSeconds, recheck: pass },
  });
  return undefined;
}

/**
 * Decides and acts on one finding. Exported for the sweep, which has findings without events: without a unit of
 * work's log writer, every entry is written by the time it returns.
 */
export async function handleFinding(
  control: AnyControl,
  finding: Finding,
  deps: EngineDeps,
  note?: string,
  scope?: Partial<LoggedScope>,
): Promise<FindingReport> {
  if (scope?.log) return decideAndAct(control, finding, deps, note, { ...scope, log: scope.log });
  const log = new OrderedLogWriter(deps.log);
  return log.finish(() => decideAndAct(control, finding, deps, note, { ...scope, log }));
}

async function decideAndAct(
  control: AnyControl,
  finding: Finding,
  deps: EngineDeps,
  note: string | undefined,
  scope: LoggedScope,
): Promise<FindingReport> {
  const { log } = scope;
  const at = () => deps.now().toISOString();
  const common = findingFields(control, finding);
  // Written with the entries that follow it, no later than just before a fix. The rate limit's grant is not held
  // back for it: a grant whose fix then fails is a slot used up, the safe side, as when an apply fails.
  log.append({
    ...common,
    stage: "finding",
    at: at(),
    reason: note ? `${finding.summary} (${note})` : finding.summary,
    details: { evidence: finding.evidence, confirmed: finding.confirmed },
  });

  // An automatic fix re-checks live state before it applies: that read starts while the limits are read (the rate
  // limit's grant is a write to a shared table), and is used only if the fix goes ahead.
  let recheck: EarlyRecheck | undefined;
  const decision = await decideWithLimits(control, finding, deps, () => {
    if (deps.aws) recheck = startRecheck(control, finding, deps, scope.reads);
  });
  for (const expired of decision.expiredExemptions) {
    log.append({
      ...common,
      stage: "exemption-expired",
      at: at(),
      reason: `exemption expired ${expired.expires}: ${expired.reason}`,
      details: { exemption: { ...expired } },
    });
  }
  log.append({ ...common, stage: "decision", at: at(), mode: decision.mode, reason: decision.reason });

  const report: FindingReport = {
    eventId: finding.event?.id ?? "sweep",
    eventName: finding.event?.name ?? "Sweep",
    control: control.id,
    category: control.category,
    resource: finding.resource.arn,
    decision: decision.mode,
    reason: decision.reason,
    summary: finding.summary,
    confirmed: finding.confirmed,
    outcome: decision.mode,
  };

  switch (decision.mode) {
    case "exempt": {
      log.append({
        ...common,
        stage: "exempted",
        at: at(),
        reason: decision.reason,
        ...(decision.exemption ? { details: { exemption: { ...decision.exemption } } } : {}),
      });
      return { ...report, outcome: "exempted" };
    }
    case "suppressed":
      return { ...report, outcome: "suppressed" };
    case "dry-run": {
      const plan = control.plan(finding, controlContext(control, deps).options);
      log.append({ ...common, ...planFields(plan), stage: "would-remediate", at: at(), reason: plan.summary });
      return { ...report, outcome: plan.notifyOnly ? "would-notify" : "would-remediate" };
    }
    case "approve": {
      const plan = control.plan(finding, controlContext(control, deps).options);
      if (plan.notifyOnly) return { ...report, outcome: "notified" };
      const pending = await pendingProposalFor(control, finding, deps);
      if (pending) return { ...report, outcome: "already-proposed", proposalId: pending.id };
      const proposal = await propose(control, finding, plan, deps, log);
      return { ...report, outcome: "proposed", proposalId: proposal.id };
    }
    case "auto": {
      const plan = control.plan(finding, controlContext(control, deps).options);
      if (plan.notifyOnly) return { ...report, outcome: "notified" };
      const outcome = await executePlan(
        {
          control,
          plan,
          finding,
          log,
          ...(scope.reads ? { reads: scope.reads } : {}),
          ...(scope.unitOfWork ? { unitOfWork: scope.unitOfWork } : {}),
          ...(recheck ? { recheck } : {}),
        },
        deps,
      );
      return { ...report, outcome: outcome.status };
    }
  }
}

/**
 * The policy decision, then the limits that need state: offline capping and the shared rate limit. `beforeLimits`
 * runs when the policy says auto, before the limits are read.
 */
async function decideWithLimits(control: AnyControl, finding: Finding, deps: EngineDeps, beforeLimits: () => void): Promise<Decision> {
  const now = deps.now();
  const policy = await policyWithGrantedExemptions(deps);
  // The window count only matters to an automatic fix: read the shared counter only when the policy says auto.
  let decision = decide({ finding, control, policy, now, autoFixesInWindow: 0 });
  if (decision.mode === "auto") {
    beforeLimits();
    decision = decide({ finding, control, policy, now, autoFixesInWindow: await deps.rateLimiter.countInWindow(now) });
  }
  if ((decision.mode === "auto" || decision.mode === "approve") && !deps.aws) {
    return { ...decision, mode: "dry-run", reason: `${decision.reason}; offline (no AWS access): ${decision.mode} capped at dry-run` };
  }
  if (decision.mode === "auto" && !(await deps.rateLimiter.tryAcquire(now))) {
    return { ...decision, mode: "approve", reason: `${decision.reason}; rate limit reached: turned into a proposal` };
  }
  return decision;
}

/** The policy plus the exemptions approvers granted (e.g. "Exempt for 30 days" in Slack). */
async function policyWithGrantedExemptions(deps: EngineDeps): Promise<EngineDeps["policy"]> {
  const granted = deps.exemptions ? await deps.exemptions.list() : [];
  if (granted.length === 0) return deps.policy;
  const exemptions = granted.map(({ resource, controls, reason, owner, expires }) => ({ resource, controls, reason, owner, expires }));
  return { ...deps.policy, exemptions: [...deps.policy.exemptions, ...exemptions] };
}

/**
 * One open proposal per control and resource: a second event or a daily sweep must not pile up duplicates, neither
 * while a person decides (pending) nor while an approved fix is being applied (applying, or legacy approved).
 */
async function pendingProposalFor(control: AnyControl, finding: Finding, deps: EngineDeps): Promise<Proposal | undefined> {
  for (const status of OPEN_PROPOSAL_STATUSES) {
    const open = await deps.proposals.listByStatus(status);
    const match = open.find((p) => p.control === control.id && p.finding.resource.arn === finding.resource.arn);
    if (match) return match;
  }
  return undefined;
}

async function propose(
  control: AnyControl,
  finding: Finding,
  plan: ReturnType<AnyControl["plan"]>,
  deps: EngineDeps,
  log: OrderedLogWriter,
): Promise<Proposal> {
  const now = deps.now();
  const expiryHours = deps.policy.proposals.expiryHours;
  const proposal: Proposal = {
    id: randomUUID(),
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + expiryHours * 3_600_000).toISOString(),
    status: "pending",
    control: control.id,
    finding,
    plan,
    planHash: planHash(plan),
    ...(finding.event ? { eventId: finding.event.id } : {}),
  };
  await log.flush();
  await deps.proposals.create(proposal);
  log.append({
    ...findingFields(control, finding),
    ...planFields(plan),
    stage: "proposed",
    at: now.toISOString(),
    proposalId: proposal.id,
    reason: plan.summary,
    details: { expiresAt: proposal.expiresAt },
  });
  // The proposal is posted only once its entry is in the log.
  await log.flush();
  if (deps.notifier) {
    try {
      const slack = await deps.notifier.proposed(proposal);
      if (slack) await deps.proposals.update(proposal.id, { slack });
    } catch (error) {
      // The proposal stands without the message: it is still listed by the CLI and the local page.
      deps.logger.error(`could not post proposal ${proposal.id}`, { error: errorFields(error) });
    }
  }
  return proposal;
}
