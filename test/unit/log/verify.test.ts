import { describe, expect, it } from "vitest";
import { CorruptLogEntryError, entryHash, nextEntry, verifyChain, type LogEntry } from "@hipaa-remediate/core";
import { sampleLogDraft } from "../../support/log-drafts";

function chainOf(length: number): LogEntry[] {
  const entries: LogEntry[] = [];
  for (let n = 1; n <= length; n += 1) entries.push(nextEntry(entries.at(-1), sampleLogDraft(n)));
  return entries;
}

function pick(entries: LogEntry[], ...seqs: number[]): LogEntry[] {
  return seqs.map((seq) => {
    const entry = entries[seq - 1];
    if (!entry) throw new Error(`no entry ${seq}`);
    return entry;
  });
}

describe("verifyChain", () => {
  it("accepts an empty log and a plain array", async () => {
    expect(await verifyChain([])).toEqual({ ok: true, checked: 0 });
    const entries = chainOf(3);
    expect(await verifyChain(entries)).toMatchObject({ ok: true, checked: 3, head: { seq: 3 } });
  });

  it("names several deleted entries in one gap", async () => {
    const report = await verifyChain(pick(chainOf(7), 1, 2, 6, 7));
    expect(report.firstBad).toEqual({
      seq: 6,
      position: 2,
      problem: "missing",
      detail: "seqs 3-5 are missing: seq 2 is followed by seq 6",
    });
  });

  it("calls an entry moved to a later place reordered", async () => {
    const report = await verifyChain(pick(chainOf(5), 1, 3, 4, 2, 5));
    expect(report.firstBad).toMatchObject({ seq: 3, position: 1, problem: "reordered" });
    expect(report.firstBad?.detail).toContain("seq 2 appears later, at position 3");
  });

  it("calls a copy of an older entry inserted", async () => {
    const report = await verifyChain(pick(chainOf(4), 1, 2, 3, 2, 4));
    expect(report).toMatchObject({ checked: 3, firstBad: { seq: 2, position: 3, problem: "inserted" } });
  });

  it("with nothing after a duplicated seq, names the later of the two", async () => {
    const entries = chainOf(3);
    const forged = nextEntry(entries[1], sampleLogDraft(99));
    const report = await verifyChain([...entries, forged]);
    expect(report.firstBad).toMatchObject({ seq: 3, position: 3, problem: "inserted" });
  });

  it("requires the first entry to link to the genesis hash", async () => {
    const [first] = pick(chainOf(1), 1);
    if (!first) throw new Error("empty chain");
    // A forger who rehashes the entry: the content is self-consistent, the link is not.
    const { hash: _hash, ...covered } = { ...first, prevHash: "f".repeat(64) };
    const report = await verifyChain([{ ...covered, hash: entryHash(covered) }]);
    expect(report.firstBad).toEqual({
      seq: 1,
      position: 0,
      problem: "broken-link",
      detail: `seq 1 must link to the genesis hash, but its prevHash is ${"f".repeat(64)}`,
    });
  });

  it("reports a corrupt row from the store and stops reading", async () => {
    const entries = chainOf(3);
    let closed = false;
    async function* source(): AsyncGenerator<LogEntry> {
      try {
        yield* pick(entries, 1);
        throw new CorruptLogEntryError("log entry stored at seq 2 is not valid JSON", { seq: 2 });
      } finally {
        closed = true;
      }
    }
    expect(await verifyChain(source())).toEqual({
      ok: false,
      checked: 1,
      head: { seq: 1, hash: entries[0]?.hash },
      firstBad: { seq: 2, position: 1, problem: "edited", detail: "log entry stored at seq 2 is not valid JSON" },
    });
    expect(closed).toBe(true);
  });

  it("closes the source when it stops at an edited entry", async () => {
    const entries = chainOf(5);
    let yielded = 0;
    let closed = false;
    async function* source(): AsyncGenerator<LogEntry> {
      try {
        for (const entry of entries) {
          yielded += 1;
          yield entry.seq === 2 ? { ...entry, reason: "changed" } : entry;
        }
      } finally {
        closed = true;
      }
    }
    expect((await verifyChain(source())).firstBad).toMatchObject({ seq: 2, problem: "edited" });
    expect(yielded).toBe(2);
    expect(closed).toBe(true);
  });

  it("lets other failures of the source propagate", async () => {
    async function* source(): AsyncGenerator<LogEntry> {
      yield* [];
      throw new Error("table not found");
    }
    await expect(verifyChain(source())).rejects.toThrow("table not found");
  });

  it("reports an empty log as truncated when a head was recorded", async () => {
    const report = await verifyChain([], { expectedHead: { seq: 2, hash: "a".repeat(64) } });
    expect(report).toMatchObject({ ok: false, checked: 0, firstBad: { seq: 2, position: 0, problem: "missing" } });
  });
});
