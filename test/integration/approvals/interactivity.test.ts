import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  APPLY_LEASE_MS,
  acknowledge,
  expireAndRemind,
  processAction,
  silentLogger,
  UnauthenticatedRequests,
  verifiedActionSchema,
  type ApprovalButton,
  type Decider,
  type LogEntry,
  type Proposal,
  type VerifiedAction,
} from "@hipaa-remediate/core";
import { collect } from "../../support/log-drafts";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { useSlackRecorder, type SlackRecorder } from "../../support/slack-recorder";
import {
  buttonClickPayload,
  exemptionSubmissionPayload,
  signInteraction,
  signSlackBody,
  TEST_SIGNING_SECRET,
  type SlackTestUser,
} from "../../support/slack-signing";
import {
  APPROVER,
  APPROVER_GROUP,
  GROUP_MEMBER,
  OUTSIDER,
  SECOND_APPROVER,
  bucketEncryption,
  createUnencryptedBucket,
  localApprovals,
  s3EncryptionExecutor,
  sampleProposal,
  type LocalApprovals,
} from "./fixtures";

const moto = useMoto();
const slackRecorder = useSlackRecorder();
const s3 = await moto.clients.s3(MOTO_REGION);

let recorder: SlackRecorder;
let env: LocalApprovals;
let execute: ReturnType<typeof vi.fn<LocalApprovals["deps"]["execute"]>>;
let bucketCounter = 0;

beforeEach(() => {
  recorder = slackRecorder();
  // A spy around the real moto-backed executor: it counts calls, the fix itself is real.
  execute = vi.fn(s3EncryptionExecutor(s3));
  env = localApprovals(moto, recorder, execute);
});
afterEach(() => {
  env.cleanup();
});

/** A pending proposal for a fresh unencrypted bucket in moto, stored and "posted". */
async function pendingProposal(overrides: Partial<Proposal> = {}): Promise<Proposal> {
  const bucket = `phi-approvals-${++bucketCounter}`;
  await createUnencryptedBucket(s3, bucket);
  const proposal = sampleProposal(bucket, env.clock.now, overrides);
  await env.proposals.create(proposal);
  return proposal;
}

function ack(payload: object) {
  return acknowledge(signInteraction(payload, { timestamp: env.clock.now }), {
    signingSecret: TEST_SIGNING_SECRET,
    now: () => env.clock.now,
    log: env.log,
    logger: env.deps.logger,
  });
}

/** A signed click, acknowledged like the endpoint does, returning the verified work. */
async function click(
  proposal: Proposal,
  button: ApprovalButton,
  user: SlackTestUser,
  options: { planHash?: string } = {},
): Promise<VerifiedAction> {
  const response = await ack(buttonClickPayload(proposal, button, { user, responseUrl: `${recorder.url}/actions/${user.id}`, ...options }));
  expect(response.status).toBe(200);
  if (!response.work) throw new Error("click produced no work");
  return response.work;
}

async function entriesFor(proposalId: string): Promise<LogEntry[]> {
  return (await collect(env.log.read())).filter((entry) => entry.proposalId === proposalId);
}

function repliesTo(user: SlackTestUser): string[] {
  return recorder.responses
    .filter((response) => response.path === `/actions/${user.id}`)
    .map((response) => (typeof response.body === "object" && response.body && "text" in response.body ? String(response.body.text) : ""));
}

function updateTexts(): string[] {
  return recorder.callsTo("chat.update").map((call) => String(call.args.text));
}

describe("acknowledging interactions", () => {
  it("answers a genuine click at once with the verified action, touching nothing", async () => {
    const proposal = await pendingProposal();
    const response = await ack(
      buttonClickPayload(proposal, "approve", { user: APPROVER, responseUrl: "https://hooks.slack.com/actions/T/1/x" }),
    );
    expect(response).toEqual({
      status: 200,
      contentType: "text/plain",
      body: "",
      work: {
        kind: "approve",
        via: "slack",
        proposalId: proposal.id,
        planHash: proposal.planHash,
        user: APPROVER,
        responseUrl: "https://hooks.slack.com/actions/T/1/x",
        message: proposal.slack,
      },
    });
    expect((await env.proposals.get(proposal.id))?.status).toBe("pending");
    expect(recorder.calls).toEqual([]);
  });

  it("refuses a forged signature with 401, counts it and warns, but never appends it to the audit log", async () => {
    const proposal = await pendingProposal();
    const signed = signInteraction(buttonClickPayload(proposal, "approve", { user: OUTSIDER }), {
      timestamp: env.clock.now,
      secret: "stolen-or-guessed",
    });
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const logger = { ...silentLogger, warn: (_message: string, fields?: Record<string, unknown>) => void warnings.push(fields) };
    const unauthenticated = new UnauthenticatedRequests({ logger, now: () => env.clock.now });
    const before = (await collect(env.log.read())).length;
    const response = await acknowledge(signed, {
      signingSecret: TEST_SIGNING_SECRET,
      now: () => env.clock.now,
      log: env.log,
      logger,
      unauthenticated,
    });
    expect(response).toEqual({
      status: 401,
      contentType: "text/plain",
      body: "X-Slack-Signature does not match the request body and timestamp",
    });
    expect(await collect(env.log.read())).toHaveLength(before);
    expect(unauthenticated.snapshot()).toEqual({ "slack-signature": 1, "serve-token": 0 });
    expect(warnings).toEqual([
      { source: "slack-signature", reason: "bad-signature: X-Slack-Signature does not match the request body and timestamp", total: 1 },
    ]);
    expect(JSON.stringify(warnings)).not.toContain(proposal.id);
    expect(JSON.stringify(warnings)).not.toContain(OUTSIDER.id);
  });

  it("refuses a replayed (stale) request and an unsigned one without touching the audit log", async () => {
    const proposal = await pendingProposal();
    const payload = buttonClickPayload(proposal, "approve", { user: APPROVER });
    const unauthenticated = new UnauthenticatedRequests({ logger: env.deps.logger, now: () => env.clock.now });
    const deps = { signingSecret: TEST_SIGNING_SECRET, now: () => env.clock.now, log: env.log, logger: env.deps.logger, unauthenticated };
    const before = (await collect(env.log.read())).length;
    const replayed = signInteraction(payload, { timestamp: new Date(env.clock.now.getTime() - 10 * 60_000) });
    expect(await acknowledge(replayed, deps)).toMatchObject({
      status: 401,
      body: expect.stringMatching(/^X-Slack-Request-Timestamp is 600s away/),
    });
    const unsigned = { rawBody: replayed.rawBody, headers: { "content-type": "application/x-www-form-urlencoded" } };
    expect(await acknowledge(unsigned, deps)).toMatchObject({
      status: 401,
      body: "request is not signed: missing X-Slack-Request-Timestamp and X-Slack-Signature header",
    });
    expect(await collect(env.log.read())).toHaveLength(before);
    expect(unauthenticated.snapshot()["slack-signature"]).toBe(2);
    expect((await env.proposals.get(proposal.id))?.status).toBe("pending");
  });

  it("warns about a flood of forged requests once a minute, saying how many it did not log", async () => {
    const proposal = await pendingProposal();
    const warnings: Array<Record<string, unknown> | undefined> = [];
    let now = env.clock.now;
    const logger = { ...silentLogger, warn: (_message: string, fields?: Record<string, unknown>) => void warnings.push(fields) };
    const unauthenticated = new UnauthenticatedRequests({ logger, now: () => now });
    const deps = { signingSecret: TEST_SIGNING_SECRET, now: () => now, log: env.log, logger, unauthenticated };
    const before = (await collect(env.log.read())).length;
    for (let i = 0; i < 50; i += 1) {
      now = new Date(env.clock.now.getTime() + i * 2_000);
      const forged = signInteraction(buttonClickPayload(proposal, "approve", { user: OUTSIDER }), { timestamp: now, secret: `guess-${i}` });
      expect((await acknowledge(forged, deps)).status).toBe(401);
    }
    // 50 requests two seconds apart span 98 seconds: one warning at the start, one a minute later.
    expect(warnings.map((w) => [w?.total, w?.notLoggedSinceLastWarning])).toEqual([
      [1, undefined],
      [31, 29],
    ]);
    expect(unauthenticated.snapshot()["slack-signature"]).toBe(50);
    expect(await collect(env.log.read())).toHaveLength(before);
  });

  it("rejects a signed payload it cannot use with 400 naming the field", async () => {
    const proposal = await pendingProposal();
    const payload = buttonClickPayload(proposal, "approve", { user: APPROVER }) as { actions: Array<{ value: string }> };
    const [action] = payload.actions;
    if (action) action.value = JSON.stringify({ plan: proposal.plan });
    const response = await ack(payload);
    expect(response.status).toBe(400);
    expect(response.body).toMatch(/^payload\.actions\.0\.value\.p: /);
    expect(response.work).toBeUndefined();
    expect((await collect(env.log.read())).at(-1)).toMatchObject({ stage: "rejected", reason: response.body });

    const notForm = await acknowledge(signSlackBody('{"type":"block_actions"}', { timestamp: env.clock.now }), {
      signingSecret: TEST_SIGNING_SECRET,
      now: () => env.clock.now,
      log: env.log,
      logger: env.deps.logger,
    });
    expect(notForm).toMatchObject({ status: 400, body: "request body has no `payload` form field" });
  });

  it("acknowledges interactions it does not handle without doing anything", async () => {
    const response = await ack({ type: "view_closed", user: { id: APPROVER.id }, view: { id: "V0MODAL" } });
    expect(response).toEqual({ status: 200, contentType: "text/plain", body: "" });
  });

  it("keeps the exemption modal open with an error when the reason is too short", async () => {
    const proposal = await pendingProposal();
    const response = await ack(exemptionSubmissionPayload(proposal, { user: APPROVER, reason: "  because " }));
    expect(response.status).toBe(200);
    expect(response.work).toBeUndefined();
    expect(JSON.parse(response.body)).toEqual({
      response_action: "errors",
      errors: { "exemption-reason": "Give a reason of at least 10 characters." },
    });
  });
});

describe("deciding proposals", () => {
  it("applies under a lease: the proposal is applying while the plan runs, and a worker that lost its lease records nothing", async () => {
    const proposal = await pendingProposal();
    const seen: Array<string | undefined> = [];
    const deps = {
      ...env.deps,
      execute: async (applying: Proposal, decidedBy: Decider) => {
        const stored = await env.proposals.get(applying.id);
        seen.push(stored?.status);
        // Housekeeping presumed this worker dead and took the lease over while the plan was running.
        await env.proposals.transitionLeased(applying.id, stored?.leaseHolder ?? "", "applying", {
          leaseHolder: "housekeeping:test",
          leaseExpiresAt: env.clock.now.toISOString(),
        });
        return execute(applying, decidedBy);
      },
    };
    expect(await processAction(await click(proposal, "approve", APPROVER), deps)).toBe("applied");
    expect(seen).toEqual(["applying"]);
    // The outcome is housekeeping's to record now: the worker's late status write was refused.
    expect(await env.proposals.get(proposal.id)).toMatchObject({ status: "applying", leaseHolder: "housekeeping:test" });
  });

  it("applies an approved fix once, verifies it and updates the message with the approver's name", async () => {
    const proposal = await pendingProposal();
    expect(await processAction(await click(proposal, "approve", APPROVER), env.deps)).toBe("applied");

    expect(await bucketEncryption(s3, proposal.finding.resource.id)).toBe("AES256");
    expect(execute).toHaveBeenCalledTimes(1);
    expect(await env.proposals.get(proposal.id)).toMatchObject({
      status: "applied",
      decidedBy: { id: APPROVER.id, name: APPROVER.name, via: "slack" },
      decidedAt: env.clock.now.toISOString(),
      leaseHolder: expect.stringMatching(/^approval:/),
      leaseExpiresAt: new Date(env.clock.now.getTime() + APPLY_LEASE_MS).toISOString(),
    });
    const entries = await entriesFor(proposal.id);
    expect(entries.map((entry) => entry.stage)).toEqual(["approved"]);
    expect(entries[0]).toMatchObject({
      decidedBy: { id: APPROVER.id, name: APPROVER.name, via: "slack" },
      control: proposal.control,
      planHash: proposal.planHash,
      eventId: proposal.eventId,
      resource: { arn: proposal.finding.resource.arn },
      hipaa: ["164.312(a)(2)(iv)", "164.312(c)(1)"],
    });
    expect(updateTexts()).toEqual([
      ":hourglass_flowing_sand: Approved by *dana*; applying the fix now.",
      ":white_check_mark: Approved by *dana*. The fix was applied and verified.",
    ]);
    expect(recorder.callsTo("chat.update")[1]).toMatchObject({
      args: { channel: proposal.slack?.channel, ts: proposal.slack?.ts },
      token: "xoxb-test-token",
    });
  });

  it("ignores a double click: the second one is told who decided, and the fix runs once", async () => {
    const proposal = await pendingProposal();
    const first = await click(proposal, "approve", APPROVER);
    const second = await click(proposal, "approve", APPROVER);
    expect(await processAction(first, env.deps)).toBe("applied");
    expect(await processAction(second, env.deps)).toBe("already-decided");
    expect(execute).toHaveBeenCalledTimes(1);
    expect(repliesTo(APPROVER)).toEqual([`Already approved by dana at ${env.clock.now.toISOString()}; the fix was applied and verified.`]);
  });

  it("lets exactly one of two approvers clicking at once apply the fix", async () => {
    const proposal = await pendingProposal();
    const results = await Promise.all([
      processAction(await click(proposal, "approve", APPROVER), env.deps),
      processAction(await click(proposal, "approve", SECOND_APPROVER), env.deps),
    ]);
    expect([...results].sort()).toEqual(["already-decided", "applied"]);
    expect(execute).toHaveBeenCalledTimes(1);
    expect((await entriesFor(proposal.id)).filter((entry) => entry.stage === "approved")).toHaveLength(1);
    const loser = results[0] === "applied" ? SECOND_APPROVER : APPROVER;
    expect(repliesTo(loser)[0]).toMatch(/^Already approved by (dana|sam)/);
  });

  it("tells an outsider they are not authorised, logs the attempt, and changes nothing", async () => {
    const proposal = await pendingProposal();
    expect(await processAction(await click(proposal, "approve", OUTSIDER), env.deps)).toBe("unauthorised");
    expect(repliesTo(OUTSIDER)).toEqual(["You are not authorised to decide remediation proposals. Ask an approver named in the policy."]);
    expect(recorder.responses[0]?.body).toMatchObject({ response_type: "ephemeral", replace_original: false });
    expect(await collect(env.log.read())).toEqual([
      expect.objectContaining({
        stage: "unauthorised-attempt",
        proposalId: proposal.id,
        details: { attemptedBy: { id: OUTSIDER.id, name: OUTSIDER.name, via: "slack" }, action: "approve" },
      }),
    ]);
    expect((await env.proposals.get(proposal.id))?.status).toBe("pending");
    expect(execute).not.toHaveBeenCalled();
    expect(recorder.callsTo("chat.update")).toEqual([]);
    expect(await bucketEncryption(s3, proposal.finding.resource.id)).toBeUndefined();
  });

  it("admits members of an approver user group, caching the member list briefly", async () => {
    recorder.setGroupMembers(APPROVER_GROUP, [GROUP_MEMBER.id]);
    const first = await pendingProposal();
    const second = await pendingProposal();
    const third = await pendingProposal();
    expect(await processAction(await click(first, "reject", GROUP_MEMBER), env.deps)).toBe("rejected");
    expect(await processAction(await click(second, "approve", GROUP_MEMBER), env.deps)).toBe("applied");
    expect(recorder.callsTo("usergroups.users.list")).toEqual([
      { method: "usergroups.users.list", args: { usergroup: APPROVER_GROUP }, token: "xoxb-test-token" },
    ]);
    // After the cache lifetime the group is asked again, so removals take effect.
    recorder.setGroupMembers(APPROVER_GROUP, []);
    env.clock.now = new Date(env.clock.now.getTime() + 61_000);
    expect(await processAction(await click(third, "approve", GROUP_MEMBER), env.deps)).toBe("unauthorised");
    expect(recorder.callsTo("usergroups.users.list")).toHaveLength(2);
  });

  it("fails the action (for the queue to retry) when Slack cannot list a group, deciding nothing", async () => {
    const proposal = await pendingProposal();
    recorder.failMethod("usergroups.users.list", "ratelimited");
    await expect(processAction(await click(proposal, "approve", GROUP_MEMBER), env.deps)).rejects.toMatchObject({
      name: "ApproverLookupError",
      message: `could not list the members of Slack user group ${APPROVER_GROUP}`,
    });
    expect((await env.proposals.get(proposal.id))?.status).toBe("pending");
    expect(execute).not.toHaveBeenCalled();
  });

  it("expires a proposal clicked after its expiry instead of applying it", async () => {
    const proposal = await pendingProposal();
    env.clock.now = new Date(Date.parse(proposal.expiresAt) + 1_000);
    expect(await processAction(await click(proposal, "approve", APPROVER), env.deps)).toBe("expired");
    expect((await env.proposals.get(proposal.id))?.status).toBe("expired");
    expect((await entriesFor(proposal.id)).map((entry) => entry.stage)).toEqual(["expired"]);
    expect(repliesTo(APPROVER)).toEqual([`This proposal expired at ${proposal.expiresAt}; nothing was changed.`]);
    expect(updateTexts()[0]).toMatch(/^:hourglass: Expired <!date\^/);
    expect(execute).not.toHaveBeenCalled();
  });

  it("refuses a click whose plan hash differs from the stored plan", async () => {
    const proposal = await pendingProposal();
    const stale = "f".repeat(64);
    expect(await processAction(await click(proposal, "approve", APPROVER, { planHash: stale }), env.deps)).toBe("plan-changed");
    expect(await entriesFor(proposal.id)).toEqual([
      expect.objectContaining({
        stage: "rejected",
        reason: `plan hash mismatch: the button carries ${stale}, the proposal holds ${proposal.planHash}`,
      }),
    ]);
    expect(repliesTo(APPROVER)[0]).toMatch(/^The plan changed after this message was posted/);
    expect((await env.proposals.get(proposal.id))?.status).toBe("pending");
    expect(execute).not.toHaveBeenCalled();
  });

  it("rejects: nothing changes in AWS, the decision is logged and shown", async () => {
    const proposal = await pendingProposal();
    expect(await processAction(await click(proposal, "reject", SECOND_APPROVER), env.deps)).toBe("rejected");
    expect((await env.proposals.get(proposal.id))?.status).toBe("rejected");
    expect(await entriesFor(proposal.id)).toEqual([
      expect.objectContaining({ stage: "rejected-by-approver", decidedBy: { id: SECOND_APPROVER.id, name: "sam", via: "slack" } }),
    ]);
    expect(updateTexts()).toEqual([":no_entry_sign: Rejected by *sam*. Nothing was changed."]);
    expect(await bucketEncryption(s3, proposal.finding.resource.id)).toBeUndefined();
    expect(execute).not.toHaveBeenCalled();
  });

  it("exempts through the modal: reason, owner and a 30-day expiry are stored for the policy", async () => {
    const proposal = await pendingProposal();
    expect(await processAction(await click(proposal, "exempt", APPROVER), env.deps)).toBe("modal-opened");
    const [opened] = recorder.callsTo("views.open");
    expect(opened?.args).toMatchObject({
      trigger_id: "1234567890.1234567890.abcdef",
      view: { type: "modal", callback_id: "proposal-exemption" },
    });
    expect((await env.proposals.get(proposal.id))?.status).toBe("pending");

    const reason = "Vendor migration in progress; bucket holds no PHI until April";
    const submitted = await ack(exemptionSubmissionPayload(proposal, { user: APPROVER, reason }));
    expect(submitted).toMatchObject({ status: 200, body: "" });
    if (!submitted.work) throw new Error("submission produced no work");
    expect(await processAction(submitted.work, env.deps)).toBe("exempted");

    const expires = new Date(env.clock.now.getTime() + 30 * 86_400_000).toISOString();
    expect(await env.exemptions.list()).toEqual([
      {
        source: "approval",
        resource: proposal.finding.resource.arn,
        controls: [proposal.control],
        reason,
        owner: "dana (Slack U0APPROVER)",
        expires,
      },
    ]);
    expect((await env.proposals.get(proposal.id))?.status).toBe("exempted");
    expect(await entriesFor(proposal.id)).toEqual([
      expect.objectContaining({ stage: "exempted", reason, details: expect.objectContaining({ expires }) }),
    ]);
    expect(updateTexts()[0]).toMatch(/^:shield: Exempted by \*dana\* until <!date\^/);
    expect(execute).not.toHaveBeenCalled();
  });

  it("tells the user when Slack would not open the exemption form, and changes nothing", async () => {
    const proposal = await pendingProposal();
    recorder.failMethod("views.open", "expired_trigger_id");
    expect(await processAction(await click(proposal, "exempt", APPROVER), env.deps)).toBe("modal-failed");
    expect(repliesTo(APPROVER)).toEqual(["Slack did not open the exemption form in time. Click Exempt again."]);
    expect((await env.proposals.get(proposal.id))?.status).toBe("pending");
  });

  it("decides without Slack for the local page, recording where the decision was made", async () => {
    const proposal = await pendingProposal();
    const withoutSlack = { ...env.deps, slack: undefined };
    const action = verifiedActionSchema.parse({
      kind: "approve",
      via: "web",
      proposalId: proposal.id,
      planHash: proposal.planHash,
      user: APPROVER,
    });
    expect(await processAction(action, withoutSlack)).toBe("applied");
    expect((await env.proposals.get(proposal.id))?.decidedBy).toEqual({ ...APPROVER, via: "web" });
    expect(await bucketEncryption(s3, proposal.finding.resource.id)).toBe("AES256");
    expect(recorder.calls).toEqual([]);
  });

  it("reports a fix that no longer applies and one that fails", async () => {
    const compliant = await pendingProposal();
    await execute(compliant, { id: "U0SETUP", name: "setup", via: "cli" });
    execute.mockClear();
    expect(await processAction(await click(compliant, "approve", APPROVER), env.deps)).toBe("no-longer-applies");
    expect((await env.proposals.get(compliant.id))?.status).toBe("no-longer-applies");

    // The bucket never existed: the executor's read throws, which is logged as a failure.
    const missing = sampleProposal("phi-never-created", env.clock.now);
    await env.proposals.create(missing);
    expect(await processAction(await click(missing, "approve", APPROVER), env.deps)).toBe("failed");
    expect((await env.proposals.get(missing.id))?.status).toBe("failed");
    expect((await entriesFor(missing.id)).map((entry) => [entry.stage, entry.error?.name])).toEqual([
      ["approved", undefined],
      ["failed", "NoSuchBucket"],
    ]);
    expect(updateTexts().at(-1)).toMatch(/^:x: Approved by \*dana\*, but the fix failed at the apply step: NoSuchBucket/);
  });
});

describe("expiry and reminders", () => {
  it("expires overdue proposals and reminds about old ones exactly once", async () => {
    const created = env.clock.now;
    const old = await pendingProposal();
    const overdue = await pendingProposal({ expiresAt: new Date(created.getTime() + 3 * 3_600_000).toISOString() });
    const fresh = await pendingProposal({ createdAt: new Date(created.getTime() + 4 * 3_600_000).toISOString() });
    env.clock.now = new Date(created.getTime() + 5 * 3_600_000);

    const options = { reminderAfterMs: 4 * 3_600_000 };
    expect(await expireAndRemind(env.deps, options)).toEqual({ expired: [overdue.id], reminded: [old.id], resolved: [] });
    expect(await expireAndRemind(env.deps, options)).toEqual({ expired: [], reminded: [], resolved: [] });

    expect(recorder.callsTo("chat.postMessage")).toEqual([
      expect.objectContaining({ args: expect.objectContaining({ channel: old.slack?.channel, thread_ts: old.slack?.ts }) }),
    ]);
    expect((await env.proposals.get(old.id))?.reminderSentAt).toBe(env.clock.now.toISOString());
    expect((await env.proposals.get(overdue.id))?.status).toBe("expired");
    expect((await env.proposals.get(fresh.id))?.status).toBe("pending");
    expect((await entriesFor(overdue.id)).map((entry) => entry.stage)).toEqual(["expired"]);
    expect(updateTexts()).toHaveLength(1);
  });
});
