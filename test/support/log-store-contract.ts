import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  GENESIS_HASH,
  InvalidReadOptionsError,
  UnloggableEntryError,
  entryHash,
  verifyChain,
  type LogStore,
  type Stage,
} from "@hipaa-remediate/core";
import { appendSamples, collect, sampleLogDraft } from "./log-drafts";

export interface LogStoreFixture {
  store: LogStore;
  cleanup(): Promise<void>;
}

/**
 * What every LogStore adapter must do. Each test gets a fresh, empty store. Adapters should be built with a small
 * page size so reads cross page boundaries.
 */
export function describeLogStoreContract(name: string, makeStore: () => Promise<LogStoreFixture>): void {
  describe(`${name} (LogStore contract)`, () => {
    let fixture: LogStoreFixture;
    let store: LogStore;
    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it("starts empty", async () => {
      expect(await store.head()).toBeUndefined();
      expect(await collect(store.read())).toEqual([]);
      expect(await verifyChain(store.read())).toEqual({ ok: true, checked: 0 });
    });

    it("numbers entries from 1 and links each to the hash of the one before", async () => {
      const appended = await appendSamples(store, 3);
      expect(appended.map((entry) => entry.seq)).toEqual([1, 2, 3]);
      expect(appended[0]?.prevHash).toBe(GENESIS_HASH);
      expect(appended[1]?.prevHash).toBe(appended[0]?.hash);
      expect(appended[2]?.prevHash).toBe(appended[1]?.hash);
      for (const entry of appended) expect(entry.hash).toBe(entryHash(entry));
    });

    it("reads back exactly what was appended, in order, and the chain verifies", async () => {
      const appended = await appendSamples(store, 23);
      expect(await collect(store.read())).toEqual(appended);
      const last = appended.at(-1);
      expect(await verifyChain(store.read())).toEqual({
        ok: true,
        checked: 23,
        head: { seq: last?.seq, hash: last?.hash },
      });
    });

    it("stores every field of the draft and drops undefined ones", async () => {
      const draft = sampleLogDraft(1, { proposalId: undefined, details: { attempts: 2, nested: { ok: true } } });
      const entry = await store.append(draft);
      const [stored] = await collect(store.read());
      expect(stored).toEqual(entry);
      expect(stored).toEqual({ ...draft, seq: 1, prevHash: GENESIS_HASH, hash: entry.hash });
      expect(stored && "proposalId" in stored).toBe(false);
    });

    it("reads a window with fromSeq and limit", async () => {
      await appendSamples(store, 20);
      const window = await collect(store.read({ fromSeq: 6, limit: 9 }));
      expect(window.map((entry) => entry.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14]);
      expect(await collect(store.read({ fromSeq: 18 }))).toHaveLength(3);
      expect(await collect(store.read({ fromSeq: 21 }))).toEqual([]);
      expect(await collect(store.read({ limit: 0 }))).toEqual([]);
    });

    it("rejects read options that make no sense, naming the field", async () => {
      await expect(collect(store.read({ fromSeq: 0 }))).rejects.toMatchObject({
        name: "InvalidReadOptionsError",
        field: "fromSeq",
      });
      await expect(collect(store.read({ limit: -1 }))).rejects.toBeInstanceOf(InvalidReadOptionsError);
    });

    it("head is the newest entry", async () => {
      const appended = await appendSamples(store, 4);
      expect(await store.head()).toEqual(appended.at(-1));
    });

    it("finds the entries about one event, in order", async () => {
      await store.append(sampleLogDraft(1, { eventId: "event-a", stage: "received" }));
      await store.append(sampleLogDraft(2, { eventId: "event-b", stage: "received" }));
      await store.append(sampleLogDraft(3, { eventId: "event-a", stage: "finding" }));
      await store.append(sampleLogDraft(4, { eventId: undefined, stage: "expired" }));
      await store.append(sampleLogDraft(5, { eventId: "event-a", stage: "proposed" }));
      const aboutA = await store.byEvent("event-a");
      expect(aboutA.map((entry) => [entry.seq, entry.stage])).toEqual([
        [1, "received"],
        [3, "finding"],
        [5, "proposed"],
      ]);
      expect(await store.byEvent("event-unknown")).toEqual([]);
    });

    it("keeps one valid chain when 50 appends run concurrently", async () => {
      const drafts = Array.from({ length: 50 }, (_, i) => sampleLogDraft(i + 1));
      const appended = await Promise.all(drafts.map((draft) => store.append(draft)));
      expect(new Set(appended.map((entry) => entry.seq))).toEqual(new Set(drafts.map((_, i) => i + 1)));
      const report = await verifyChain(store.read());
      expect(report).toMatchObject({ ok: true, checked: 50 });
      const stored = await collect(store.read());
      expect(stored.map((entry) => entry.eventId).sort()).toEqual(drafts.map((draft) => draft.eventId).sort());
    });

    it("appendAll writes the drafts as consecutive entries that read back, window by window, as if appended one by one", async () => {
      await appendSamples(store, 2);
      // One event's unit of work, then a run that changes event midway and one of no event (a sweep's).
      const unit = ["received", "finding", "decision", "applying"].map((stage, i) =>
        sampleLogDraft(10 + i, { eventId: "event-unit", stage: stage as Stage }),
      );
      const mixed = [sampleLogDraft(20, { eventId: "event-x" }), sampleLogDraft(21, { eventId: "event-y" })];
      const sweep = [sampleLogDraft(30, { eventId: undefined }), sampleLogDraft(31, { eventId: undefined })];
      const appended = [
        ...(await store.appendAll(unit)),
        ...(await store.appendAll(mixed)),
        ...(await store.appendAll(sweep)),
        await store.append(sampleLogDraft(40)),
      ];
      expect(appended.map((entry) => entry.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(await store.appendAll([])).toEqual([]);

      const all = await collect(store.read());
      expect(all.slice(2)).toEqual(appended);
      expect(await verifyChain(store.read())).toMatchObject({ ok: true, checked: 11, head: { seq: 11 } });
      expect(await store.head()).toEqual(appended.at(-1));
      // A window that starts or ends inside a run.
      expect((await collect(store.read({ fromSeq: 5, limit: 3 }))).map((entry) => entry.seq)).toEqual([5, 6, 7]);
      expect((await collect(store.read({ fromSeq: 6 }))).map((entry) => entry.seq)).toEqual([6, 7, 8, 9, 10, 11]);
      expect((await store.byEvent("event-unit")).map((entry) => entry.stage)).toEqual(["received", "finding", "decision", "applying"]);
      expect((await store.byEvent("event-y")).map((entry) => entry.seq)).toEqual([8]);
    });

    it("appendAll from concurrent callers keeps each call's entries together and one valid chain", async () => {
      const calls = Array.from({ length: 8 }, (_, call) =>
        Array.from({ length: 3 }, (_, i) => sampleLogDraft(call * 10 + i, { eventId: `event-call-${call}` })),
      );
      const appended = await Promise.all(calls.map((drafts) => store.appendAll(drafts)));
      for (const entries of appended) {
        const [first] = entries;
        expect(entries.map((entry) => entry.seq - (first?.seq ?? 0))).toEqual([0, 1, 2]);
      }
      expect(await verifyChain(store.read())).toMatchObject({ ok: true, checked: 24 });
      expect(await collect(store.read())).toEqual(appended.flat().sort((a, b) => a.seq - b.seq));
    });

    it("appendAll refuses the drafts when one carries a secret, and appends none of them", async () => {
      const drafts = [sampleLogDraft(1), sampleLogDraft(2, { after: { Credentials: { SecretAccessKey: "not-for-the-log" } } })];
      await expect(store.appendAll(drafts)).rejects.toBeInstanceOf(UnloggableEntryError);
      expect(await store.head()).toBeUndefined();
    });

    it("refuses a draft that carries a secret and appends nothing", async () => {
      const draft = sampleLogDraft(1, { after: { Credentials: { SecretAccessKey: "not-for-the-log" } } });
      await expect(store.append(draft)).rejects.toBeInstanceOf(UnloggableEntryError);
      expect(await store.head()).toBeUndefined();
    });
  });
}
