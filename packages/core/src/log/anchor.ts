import { z } from "zod";
import type { LogStore } from "./port";

/**
 * A chain head published outside the log: "at time `at`, the entry at `seq` hashed to `hash`". A hash chain
 * alone cannot show that its newest entries were deleted, or that it was rewritten from some entry on with freshly
 * computed hashes: both leave a consistent chain. An anchor kept where the log's writers cannot rewrite it turns
 * both into a mismatch that verifyChain names.
 */
export interface Anchor {
  seq: number;
  hash: string;
  /** When the anchor was published (ISO 8601). */
  at: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export const anchorSchema = z.strictObject({
  seq: z.number().int().positive(),
  hash: z.string().regex(SHA256_HEX, "must be 64 lowercase hex digits"),
  at: z.iso.datetime({ offset: true }),
});

/**
 * Where anchors are kept. Adapters are append-only: `publish` never replaces an earlier anchor, and `list`
 * returns every anchor ever published, in any order, so an anchor cannot be hidden by publishing another.
 */
export interface AnchorStore {
  publish(anchor: Anchor): Promise<void>;
  list(): Promise<Anchor[]>;
  /** Says where the anchors are, for messages (a file path, an s3:// URL). */
  readonly location: string;
}

/** An anchor store that cannot be read, or holds something that is not an anchor: the evidence is in doubt. */
export class AnchorStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AnchorStoreError";
  }
}

/**
 * Publishes the log's current head. Returns the anchor, or undefined when the log is empty (there is nothing to
 * anchor yet).
 */
export async function publishHead(log: Pick<LogStore, "head">, anchors: AnchorStore, now: () => Date): Promise<Anchor | undefined> {
  const head = await log.head();
  if (!head) return undefined;
  const anchor: Anchor = { seq: head.seq, hash: head.hash, at: now().toISOString() };
  await anchors.publish(anchor);
  return anchor;
}

/** Anchors in the order verification meets them: by seq, then by publication time. */
export function sortAnchors(anchors: readonly Anchor[]): Anchor[] {
  return [...anchors].sort((a, b) => a.seq - b.seq || a.at.localeCompare(b.at));
}

/** "seq 42 (published 2026-01-01T00:00:00.000Z)": how messages name an anchor. */
export function describeAnchor(anchor: Anchor): string {
  return `the anchor for seq ${anchor.seq} published ${anchor.at}`;
}
