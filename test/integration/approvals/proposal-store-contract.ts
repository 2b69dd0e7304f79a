import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProposalExistsError, ProposalNotFoundError, type Decider, type ProposalStore } from "@hipaa-remediate/core";
import { sampleProposal } from "./fixtures";

export interface ProposalStoreFixture {
  store: ProposalStore;
  /** Another store over the same backend with its own connection, as a second process or Lambda would have. */
  connect(): ProposalStore;
  cleanup(): Promise<void>;
}

const T0 = new Date("2025-03-01T12:00:00Z");
const dana: Decider = { id: "U0DANA", name: "dana", via: "slack" };

/** What every ProposalStore adapter must do. Each test gets a fresh, empty store. */
export function describeProposalStoreContract(name: string, makeStore: () => Promise<ProposalStoreFixture>): void {
  describe(`${name} (ProposalStore contract)`, () => {
    let fixture: ProposalStoreFixture;
    let store: ProposalStore;
    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it("stores a proposal and reads back exactly what was stored", async () => {
      const proposal = sampleProposal("phi-roundtrip", T0);
      await store.create(proposal);
      expect(await store.get(proposal.id)).toEqual(proposal);
      expect(await store.get("prop-missing")).toBeUndefined();
    });

    it("refuses a second proposal with the same id", async () => {
      const proposal = sampleProposal("phi-duplicate", T0);
      await store.create(proposal);
      await expect(store.create({ ...proposal, status: "approved" })).rejects.toBeInstanceOf(ProposalExistsError);
      expect((await store.get(proposal.id))?.status).toBe("pending");
    });

    it("lists proposals by status, oldest first", async () => {
      const later = sampleProposal("phi-later", new Date(T0.getTime() + 60_000));
      const earlier = sampleProposal("phi-earlier", T0);
      const done = sampleProposal("phi-done", T0, { status: "applied" });
      for (const p of [later, earlier, done]) await store.create(p);
      expect((await store.listByStatus("pending")).map((p) => p.id)).toEqual([earlier.id, later.id]);
      expect((await store.listByStatus("applied")).map((p) => p.id)).toEqual([done.id]);
      expect(await store.listByStatus("rejected")).toEqual([]);
    });

    it("moves a proposal only from the expected status, recording who decided", async () => {
      const proposal = sampleProposal("phi-transition", T0);
      await store.create(proposal);
      const decidedAt = "2025-03-01T12:05:00.000Z";
      expect(await store.transition(proposal.id, "pending", "approved", { decidedBy: dana, decidedAt })).toBe(true);
      expect(await store.transition(proposal.id, "pending", "rejected", { decidedBy: { ...dana, id: "U0LATE" } })).toBe(false);
      expect(await store.get(proposal.id)).toEqual({ ...proposal, status: "approved", decidedBy: dana, decidedAt });
      expect(await store.transition(proposal.id, "approved", "applied")).toBe(true);
      expect(await store.get(proposal.id)).toEqual({ ...proposal, status: "applied", decidedBy: dana, decidedAt });
      expect((await store.listByStatus("pending")).map((p) => p.id)).toEqual([]);
      expect(await store.transition("prop-missing", "pending", "approved")).toBe(false);
    });

    it("updates the Slack message and the reminder time without touching the status", async () => {
      const proposal = sampleProposal("phi-update", T0, { slack: undefined });
      await store.create(proposal);
      await store.update(proposal.id, { slack: { channel: "C0NEW", ts: "1700000000.000777" } });
      await store.update(proposal.id, { reminderSentAt: "2025-03-01T16:00:00.000Z" });
      expect(await store.get(proposal.id)).toEqual({
        ...proposal,
        slack: { channel: "C0NEW", ts: "1700000000.000777" },
        reminderSentAt: "2025-03-01T16:00:00.000Z",
      });
      await expect(store.update("prop-missing", { reminderSentAt: "2025-03-01T16:00:00.000Z" })).rejects.toBeInstanceOf(
        ProposalNotFoundError,
      );
      await expect(store.update("prop-missing", {})).rejects.toBeInstanceOf(ProposalNotFoundError);
      await store.update(proposal.id, {});
      expect((await store.get(proposal.id))?.reminderSentAt).toBe("2025-03-01T16:00:00.000Z");
    });

    it("moves an applying proposal only for the holder of its lease, and hands the lease over atomically", async () => {
      const proposal = sampleProposal("phi-lease", T0);
      await store.create(proposal);
      const worker = { leaseHolder: "approval:worker-1", leaseExpiresAt: "2025-03-01T12:25:00.000Z" };
      const decidedAt = "2025-03-01T12:05:00.000Z";
      expect(await store.transition(proposal.id, "pending", "applying", { decidedBy: dana, decidedAt, ...worker })).toBe(true);
      expect(await store.get(proposal.id)).toEqual({ ...proposal, status: "applying", decidedBy: dana, decidedAt, ...worker });
      expect((await store.listByStatus("applying")).map((p) => p.id)).toEqual([proposal.id]);

      // Housekeeping takes the expired lease over; the old holder can then no longer record an outcome.
      const housekeeping = { leaseHolder: "housekeeping:run-1", leaseExpiresAt: "2025-03-01T12:50:00.000Z" };
      expect(await store.transitionLeased(proposal.id, "approval:someone-else", "applying", housekeeping)).toBe(false);
      expect(await store.transitionLeased(proposal.id, worker.leaseHolder, "applying", housekeeping)).toBe(true);
      expect(await store.transitionLeased(proposal.id, worker.leaseHolder, "applied")).toBe(false);
      expect(await store.transitionLeased(proposal.id, housekeeping.leaseHolder, "failed")).toBe(true);
      expect(await store.get(proposal.id)).toEqual({ ...proposal, status: "failed", decidedBy: dana, decidedAt, ...housekeeping });
      // Only an applying proposal has a lease to honour.
      expect(await store.transitionLeased(proposal.id, housekeeping.leaseHolder, "applied")).toBe(false);
      expect(await store.transitionLeased("prop-missing", housekeeping.leaseHolder, "applied")).toBe(false);
    });

    it("lets exactly one of two concurrent lease takeovers win", async () => {
      const proposal = sampleProposal("phi-lease-race", T0, {
        status: "applying",
        leaseHolder: "approval:dead",
        leaseExpiresAt: T0.toISOString(),
      });
      await store.create(proposal);
      const takers = ["housekeeping:a", "housekeeping:b"];
      const results = await Promise.all(
        takers.map((leaseHolder) =>
          fixture
            .connect()
            .transitionLeased(proposal.id, "approval:dead", "applying", { leaseHolder, leaseExpiresAt: "2025-03-01T13:00:00.000Z" }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.get(proposal.id))?.leaseHolder).toBe(takers[results.indexOf(true)]);
    });

    it("lets exactly one of ten concurrent deciders win", async () => {
      const proposal = sampleProposal("phi-race", T0);
      await store.create(proposal);
      const deciders = Array.from({ length: 10 }, (_, i): Decider => ({ id: `U0RACER${i}`, name: `racer-${i}`, via: "slack" }));
      const results = await Promise.all(
        deciders.map((decidedBy) =>
          fixture.connect().transition(proposal.id, "pending", "approved", { decidedBy, decidedAt: "2025-03-01T12:01:00.000Z" }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = deciders[results.indexOf(true)];
      expect((await store.get(proposal.id))?.decidedBy).toEqual(winner);
    });
  });
}
