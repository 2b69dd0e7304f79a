import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileAnchorStore, silentLogger } from "@hipaa-remediate/core";
import { openLocalEngine } from "../../../packages/cli/src/local/engine";
import { sampleLogDraft } from "../../support/log-drafts";

describe("the local engine anchors its log", () => {
  it("publishes the head when entries were appended since the last anchor, and only then", async () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), "hipaa-anchoring-")), "engine.db");
    const at = new Date("2026-04-01T09:00:00.000Z");
    const engine = await openLocalEngine({ dbPath, logger: silentLogger, now: () => at });
    const anchors = new FileAnchorStore(join(dbPath, "..", "engine.anchors.jsonl"));
    expect(engine.anchors?.location).toBe(anchors.location);

    expect(await engine.anchorIfAdvanced()).toBeUndefined();
    await engine.deps.log.append(sampleLogDraft(1));
    await engine.deps.log.append(sampleLogDraft(2));
    const second = await engine.deps.log.head();
    expect(await engine.anchorIfAdvanced()).toEqual({ seq: 2, hash: second?.hash, at: at.toISOString() });
    // Nothing new: a long-running server's timer publishes nothing.
    expect(await engine.anchorIfAdvanced()).toBeUndefined();
    await engine.deps.log.append(sampleLogDraft(3));
    await engine.close();

    const published = await anchors.list();
    expect(published.map((anchor) => anchor.seq)).toEqual([2, 3]);

    // A run that appends nothing leaves the anchors as they were.
    const reopened = await openLocalEngine({ dbPath, logger: silentLogger });
    await reopened.close();
    expect(await anchors.list()).toHaveLength(2);
  });

  it("anchors nothing for an in-memory database", async () => {
    const engine = await openLocalEngine({ dbPath: ":memory:", logger: silentLogger });
    await engine.deps.log.append(sampleLogDraft(1));
    expect(engine.anchors).toBeUndefined();
    expect(await engine.anchorIfAdvanced()).toBeUndefined();
    await engine.close();
  });
});
