import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { createGzip, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { gunzipMembers } from "../../../packages/core/src/events/gzip-members";

async function* piecesOf(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

describe("gunzipMembers", () => {
  it("decodes members larger than its output budget, fed in pieces of any size, exactly as gzip wrote them", async () => {
    // Random bytes do not compress, base64 of them compresses a little: members of several MiB either way.
    const first = randomBytes(3 << 20);
    const second = Buffer.from(randomBytes(2 << 20).toString("base64"));
    const gzipped = Buffer.concat([gzipSync(first), gzipSync(second)]);
    for (const pieceSize of [1_000, 64 << 10, gzipped.length]) {
      const decoded: Buffer[] = [];
      for await (const chunk of gunzipMembers(piecesOf(gzipped, pieceSize))) decoded.push(chunk);
      expect(Buffer.concat(decoded).equals(Buffer.concat([first, second]))).toBe(true);
    }
  });

  it("decodes no further ahead of a consumer that is slow than its output budget, even for a gzip bomb", async () => {
    // 256 MiB of zeros compress to about 256 KiB: a single write of the compressed bytes decodes to all of it.
    const bomb = await gzipOfZeros(256 << 20);
    const before = process.memoryUsage().arrayBuffers;
    const decoding = gunzipMembers(piecesOf(bomb, bomb.length));

    const first = await decoding.next();
    // zlib decodes 256 MiB of zeros in well under this; held back, it must be waiting for the consumer instead.
    await delay(300);
    const heldAhead = process.memoryUsage().arrayBuffers - before;
    let decoded = first.done ? 0 : first.value.length;
    for await (const chunk of decoding) decoded += chunk.length;

    expect(heldAhead).toBeLessThan(8 << 20);
    expect(decoded).toBe(256 << 20);
  });
});

async function gzipOfZeros(size: number): Promise<Buffer> {
  const zeros = Buffer.alloc(1 << 20);
  const compressed: Buffer[] = [];
  const gzip = createGzip({ level: 9 });
  gzip.on("data", (chunk: Buffer) => compressed.push(chunk));
  for (let written = 0; written < size; written += zeros.length) {
    if (!gzip.write(zeros)) await once(gzip, "drain");
  }
  gzip.end();
  await once(gzip, "end");
  return Buffer.concat(compressed);
}
