import { once } from "node:events";
import { crc32, createInflateRaw, type InflateRaw } from "node:zlib";

/**
 * Compressed bytes handed to zlib at a time. Each write is a round trip to zlib's thread, so small writes leave the
 * main thread waiting; what one write decodes is bounded by OUTPUT_BUDGET instead, so a gzip bomb stays small.
 */
const FEED_SIZE = 256 * 1024;
/** Decoded bytes held before they are handed on: zlib is paused at this much until the consumer has taken them. */
const OUTPUT_BUDGET = 1 << 20;
const HEADER_SIZE = 10;
const TRAILER_SIZE = 8;
const DEFLATE = 8;
const FLAG_HCRC = 0x02;
const FLAG_EXTRA = 0x04;
const FLAG_NAME = 0x08;
const FLAG_COMMENT = 0x10;

/** Gzip data that stops being valid part way; everything decoded before the fault was already yielded. */
export class GzipDataError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GzipDataError";
  }
}

/** Compressed input read on demand: `need` waits for bytes, `take` consumes them, `offset` counts what was taken. */
class CompressedInput {
  private pending: Buffer = Buffer.alloc(0);
  offset = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Buffers at least `size` bytes; false when the input ends first. */
  async need(size: number): Promise<boolean> {
    while (this.pending.length < size && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else this.pending = this.pending.length === 0 ? next.value : Buffer.concat([this.pending, next.value]);
    }
    return this.pending.length >= size;
  }

  peek(): Buffer {
    return this.pending;
  }

  take(size: number): Buffer {
    const taken = this.pending.subarray(0, size);
    this.pending = this.pending.subarray(size);
    this.offset += taken.length;
    return taken;
  }

  /** Gives back bytes taken but not used (what zlib read past the end of a member). */
  untake(bytes: Buffer): void {
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([bytes, this.pending]);
    this.offset -= bytes.length;
  }

  /** The next bytes as they come, at most `FEED_SIZE` at a time; empty at the end of the input. */
  async nextPiece(): Promise<Buffer> {
    if (!(await this.need(1))) return Buffer.alloc(0);
    return this.take(Math.min(FEED_SIZE, this.pending.length));
  }
}

/** The length of the gzip header at the start of the input (RFC 1952 §2.3), or a fault. */
async function headerLength(input: CompressedInput): Promise<number> {
  if (!(await input.need(HEADER_SIZE))) throw truncated(input, "in a gzip member header");
  const head = input.peek();
  if (head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== DEFLATE) {
    throw new GzipDataError(`the bytes after the last complete gzip member (from compressed byte ${input.offset}) are not gzip data`);
  }
  const flags = head[3] ?? 0;
  let length = HEADER_SIZE;
  if (flags & FLAG_EXTRA) {
    if (!(await input.need(length + 2))) throw truncated(input, "in a gzip member header");
    length += 2 + input.peek().readUInt16LE(length);
  }
  for (const flag of [FLAG_NAME, FLAG_COMMENT]) {
    if ((flags & flag) === 0) continue;
    for (;;) {
      const end = input.peek().indexOf(0, length);
      if (end >= 0) {
        length = end + 1;
        break;
      }
      if (!(await input.need(input.peek().length + 1))) throw truncated(input, "in a gzip member header");
    }
  }
  if (flags & FLAG_HCRC) length += 2;
  if (!(await input.need(length))) throw truncated(input, "in a gzip member header");
  return length;
}

function truncated(input: CompressedInput, where: string): GzipDataError {
  return new GzipDataError(`gzip data is cut short ${where}: it ends at compressed byte ${input.offset + input.peek().length}`);
}

/** True when the rest of the input is zero bytes, which tools pad gzip files with. */
async function onlyPaddingLeft(input: CompressedInput): Promise<boolean> {
  for (;;) {
    if (!(await input.need(1))) return true;
    const rest = input.peek();
    if (rest.some((byte) => byte !== 0)) return false;
    input.take(rest.length);
  }
}

/** Feeds one piece to zlib; resolves once it was processed, failed, or the deflate stream ended. */
function feed(inflate: InflateRaw, piece: Buffer | undefined): Promise<void> {
  return new Promise((resolve) => {
    const settle = () => {
      inflate.off("error", settle).off("close", settle);
      resolve();
    };
    inflate.once("error", settle).once("close", settle);
    if (piece === undefined) inflate.end(settle);
    else inflate.write(piece, settle);
  });
}

/**
 * What zlib has decoded and not yet handed on. Once it holds OUTPUT_BUDGET bytes, zlib is paused (its own
 * backpressure then stops it part way through a write) until `take` hands the bytes on and resumes it.
 */
class DecodedOutput {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private full: { promise: Promise<void>; resolve: () => void } | undefined;
  checksum = 0;
  size = 0;

  constructor(private readonly inflate: InflateRaw) {
    inflate.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
      this.checksum = crc32(chunk, this.checksum);
      this.size += chunk.length;
      if (this.bytes >= OUTPUT_BUDGET) {
        inflate.pause();
        this.full?.resolve();
      }
    });
  }

  /** Resolves once the budget is reached (never, while it is not). */
  filled(): Promise<void> {
    if (this.bytes >= OUTPUT_BUDGET) return Promise.resolve();
    let resolve = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    this.full = { promise, resolve };
    return promise;
  }

  /** Hands over what is held and lets zlib go on. */
  take(): Buffer[] {
    const chunks = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    this.full = undefined;
    if (this.inflate.isPaused()) this.inflate.resume();
    return chunks;
  }
}

/** Waits for `work`, handing on decoded output each time the budget fills meanwhile. */
async function* whileDecoding(work: Promise<void>, output: DecodedOutput): AsyncGenerator<Buffer> {
  let done = false;
  const finished = work.then(() => {
    done = true;
  });
  while (!done) {
    await Promise.race([finished, output.filled()]);
    yield* output.take();
  }
}

/** One member's deflate data and trailer, decoded as it comes. */
async function* inflateMember(input: CompressedInput): AsyncGenerator<Buffer> {
  const inflate = createInflateRaw({ chunkSize: 256 * 1024 });
  const output = new DecodedOutput(inflate);
  let failure: Error | undefined;
  inflate.on("error", (error: Error) => {
    failure ??= error;
  });
  const ended = once(inflate, "end").then(
    () => undefined,
    () => undefined,
  );
  try {
    const memberStart = input.offset;
    for (;;) {
      const piece = await input.nextPiece();
      yield* whileDecoding(feed(inflate, piece.length === 0 ? undefined : piece), output);
      if (failure !== undefined) {
        throw new GzipDataError(
          `gzip data is truncated or corrupt in the member starting at compressed byte ${memberStart} (${failure.message})`,
          { cause: failure },
        );
      }
      const unused = input.offset - memberStart - inflate.bytesWritten;
      if (unused > 0) input.untake(piece.subarray(piece.length - unused));
      if (unused > 0 || piece.length === 0) break;
    }
    yield* whileDecoding(ended, output);
  } finally {
    inflate.destroy();
  }
  if (!(await input.need(TRAILER_SIZE))) throw truncated(input, "inside a gzip member");
  const trailer = input.take(TRAILER_SIZE);
  if (trailer.readUInt32LE(0) !== output.checksum >>> 0 || trailer.readUInt32LE(4) !== output.size % 2 ** 32) {
    throw new GzipDataError(`gzip member ending at compressed byte ${input.offset} fails its CRC-32 or length check: the data is corrupt`);
  }
}

/**
 * Decodes gzip as `gzip -dc` does: member after member (concatenated `.gz` files are valid gzip), as far as
 * the data is valid, ignoring zero padding. Output is yielded as zlib produces it, so a fault (bytes after
 * the last member that are not gzip, a corrupt or cut member) never takes the records before it along: it is
 * thrown as a GzipDataError after them.
 */
export async function* gunzipMembers(compressed: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  const input = new CompressedInput(compressed);
  let members = 0;
  for (;;) {
    if (members > 0 && (await onlyPaddingLeft(input))) return;
    input.take(await headerLength(input));
    yield* inflateMember(input);
    members++;
  }
}
