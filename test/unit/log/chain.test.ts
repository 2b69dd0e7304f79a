import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson, entryHash, GENESIS_HASH, nextEntry, type LogEntry } from "@hipaa-remediate/core";
import { sampleLogDraft } from "../../support/log-drafts";

/** The documented definition, computed independently of the code under test. */
function sha256OfEntryWithoutHash(entry: LogEntry): string {
  const { hash: _hash, ...covered } = entry;
  return createHash("sha256").update(canonicalJson(covered), "utf8").digest("hex");
}

describe("nextEntry", () => {
  it("starts the chain at seq 1, linked to the genesis hash", () => {
    const first = nextEntry(undefined, sampleLogDraft(1));
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(first.hash).toBe(sha256OfEntryWithoutHash(first));
  });

  it("links each entry to the previous entry's hash, which covers the previous seq and prevHash", () => {
    const first = nextEntry(undefined, sampleLogDraft(1));
    const second = nextEntry(first, sampleLogDraft(2));
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(second.hash).toBe(sha256OfEntryWithoutHash(second));
    expect(entryHash({ ...second, seq: 3 })).not.toBe(second.hash);
    expect(entryHash({ ...second, prevHash: GENESIS_HASH })).not.toBe(second.hash);
  });

  it("drops undefined fields, so the entry hashes the same after a JSON round trip", () => {
    const entry = nextEntry(undefined, sampleLogDraft(1, { proposalId: undefined, error: undefined }));
    expect(Object.keys(entry)).not.toContain("proposalId");
    const reparsed = JSON.parse(JSON.stringify(entry)) as LogEntry;
    expect(entryHash(reparsed)).toBe(entry.hash);
  });

  it("does not depend on key order", () => {
    const entry = nextEntry(undefined, sampleLogDraft(1));
    const reversed = Object.fromEntries(Object.entries(entry).reverse()) as unknown as LogEntry;
    expect(entryHash(reversed)).toBe(entry.hash);
  });

  it("ignores chain fields smuggled in through the draft", () => {
    const first = nextEntry(undefined, sampleLogDraft(1));
    const copy = nextEntry(first, first);
    expect(copy).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(copy.hash).toBe(sha256OfEntryWithoutHash(copy));
  });

  it("copies the draft, so changing the draft later cannot change the entry", () => {
    const draft = sampleLogDraft(1);
    const entry = nextEntry(undefined, draft);
    if (draft.after) draft.after.Versioning = "Suspended";
    expect(entry.after).not.toHaveProperty("Versioning");
    expect(entryHash(entry)).toBe(entry.hash);
  });
});
