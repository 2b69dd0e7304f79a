import { constants, createReadStream, type Dirent } from "node:fs";
import { access, readdir, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { DIGEST_REASON, ingestValueAt } from "./classify";
import { GzipDataError, gunzipMembers } from "./gzip-members";
import { ignored, rejected, type IngestResult, type ListenScreen, type ScreenedResult } from "./ingest-result";
import { JsonValueSplitter, type SplitItem } from "./json-splitter";
import { WHOLE_LOG_FILE_LIMIT, wholeLogFileResults } from "./whole-log-file";

/** An input path that cannot be read (missing, no permission, unreadable mid-way). The CLI exits non-zero on it. */
export class InputPathError extends Error {
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "InputPathError";
  }
}

export interface IngestProgress {
  /** Bytes read from inputs so far (compressed size for `.gz`). */
  bytes: number;
  /** Results produced so far (events + ignored + rejected). */
  records: number;
  /** Input files finished so far. */
  files: number;
}

export interface ReadChangeEventsOptions {
  /** Called after every chunk (about 1 MiB of input) and after every file, with running totals. */
  onProgress?(progress: IngestProgress): void;
}

type ByteChunk = Buffer | Uint8Array | string;
/** Anything that yields bytes: a Readable (stdin, a file, a socket), an async generator, or a list of chunks. */
export type ByteSource = AsyncIterable<ByteChunk> | Iterable<ByteChunk>;

const CHUNK_SIZE = 1 << 20;
const DIGEST_FOLDER = "CloudTrail-Digest";

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function asBuffer(chunk: ByteChunk): Buffer {
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** The source's bytes; a failure to read them is an unreadable input, not bad content. */
async function* bytesOf(source: ByteSource, origin: string, progress: IngestProgress): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of source) {
      const buf = asBuffer(chunk);
      progress.bytes += buf.length;
      yield buf;
    }
  } catch (error) {
    throw new InputPathError(origin, `cannot read input "${origin}": ${errorText(error)}`, { cause: error });
  }
}

async function* prepended(head: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield head;
    for (;;) {
      const next = await rest.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await rest.return?.();
  }
}

function isGzip(head: Buffer): boolean {
  return head[0] === 0x1f && head[1] === 0x8b;
}

function isZip(head: Buffer): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

function withoutByteOrderMark(chunk: Buffer): Buffer {
  return chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? chunk.subarray(3) : chunk;
}

/** Reads up to `size` bytes from the start of the input to sniff its format. */
async function readHead(raw: AsyncIterator<Buffer>, size: number): Promise<Buffer> {
  let head: Buffer = Buffer.alloc(0);
  while (head.length < size) {
    const next = await raw.next();
    if (next.done) break;
    head = head.length === 0 ? next.value : Buffer.concat([head, next.value]);
  }
  return head;
}

function resultsOf(items: SplitItem[], out: ScreenedResult[], listens: ListenScreen | undefined): void {
  for (const item of items) {
    if (item.kind === "value") ingestValueAt(item.value, item.site, out, listens);
    else out.push(rejected(item.source, item.reason));
  }
}

/** The next decoded chunk, `undefined` at the end, or the error that broke the (gzip) decoding. */
async function nextChunk(decoded: AsyncGenerator<Buffer>): Promise<Buffer | undefined | { broken: string }> {
  try {
    const next = await decoded.next();
    return next.done ? undefined : next.value;
  } catch (error) {
    if (error instanceof GzipDataError) return { broken: error.message };
    throw error;
  }
}

/**
 * The start of an input, held back while it may still be one log file small enough to parse whole (one
 * JSON.parse is several times faster than splitting it record by record); past the limit it goes to the splitter.
 */
class HeldInput {
  private chunks: Buffer[] | undefined = [];
  private bytes = 0;

  /** Holds `chunk` and returns true, or returns false once the input is too large to hold (then it holds nothing). */
  hold(chunk: Buffer): boolean {
    if (!this.chunks) return false;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    return this.bytes <= WHOLE_LOG_FILE_LIMIT;
  }

  /** Hands over what is held (once) and stops holding. */
  release(): Buffer[] {
    const chunks = this.chunks ?? [];
    this.chunks = undefined;
    return chunks;
  }
}

/**
 * The results one decoded chunk (or the end, or a break in the gzip stream) completes: none while the input is
 * held back. A function of its own so that the held chunks are garbage once it returns, not kept alive by the
 * generator while the consumer works through the batch.
 */
function resultsFor(
  chunk: Buffer | undefined | { broken: string },
  held: HeldInput,
  splitter: JsonValueSplitter,
  origin: string,
  listens: ListenScreen | undefined,
): ScreenedResult[] {
  if (Buffer.isBuffer(chunk) && held.hold(chunk)) return [];
  const heldChunks = held.release();
  if (chunk === undefined) {
    const whole = wholeLogFileResults(Buffer.concat(heldChunks).toString("utf8"), origin, listens);
    if (whole) return whole;
  }
  // Too large to hold, or not one clean log file: the splitter reads it all and places every problem.
  const results: ScreenedResult[] = [];
  for (const part of heldChunks) resultsOf(splitter.push(part), results, listens);
  if (chunk === undefined) resultsOf(splitter.finish(), results, listens);
  else if (!Buffer.isBuffer(chunk)) resultsOf(splitter.abort(chunk.broken), results, listens);
  else if (heldChunks.length === 0) resultsOf(splitter.push(chunk), results, listens);
  return results;
}

/**
 * Every result in one input, in order, a batch per chunk. Content decides the format: gzip by its magic bytes,
 * then a log file, an array, JSON lines or a single object. Memory stays at about one chunk plus one record, or
 * one small log file.
 */
async function* readSource(
  source: ByteSource,
  origin: string,
  progress: IngestProgress,
  options: ReadChangeEventsOptions,
  listens: ListenScreen | undefined,
): AsyncGenerator<ScreenedResult[]> {
  const raw = bytesOf(source, origin, progress);
  const head = await readHead(raw, 4);
  if (head.length === 0 || isZip(head)) {
    await raw.return(undefined);
    if (head.length === 0) return;
    progress.records += 1;
    yield [rejected(origin, `${origin}: a zip archive, which is not read; unpack it and pass the files or folder instead`)];
    return;
  }
  const decoded = isGzip(head) ? gunzipMembers(prepended(head, raw)) : prepended(head, raw);
  const splitter = new JsonValueSplitter(origin);
  const held = new HeldInput();
  let first = true;
  try {
    for (;;) {
      const next = await nextChunk(decoded);
      const chunk = first && Buffer.isBuffer(next) ? withoutByteOrderMark(next) : next;
      first = false;
      const results = resultsFor(chunk, held, splitter, origin, listens);
      progress.records += results.length;
      if (results.length > 0) yield results;
      options.onProgress?.({ ...progress });
      if (!Buffer.isBuffer(chunk)) return;
    }
  } finally {
    await decoded.return(undefined);
  }
}

type ResolvedInput = { kind: "stdin" } | { kind: "file"; path: string } | { kind: "directory"; path: string };

async function resolveInput(input: string): Promise<ResolvedInput> {
  if (input === "-") return { kind: "stdin" };
  try {
    const info = await stat(input);
    await access(input, constants.R_OK);
    return info.isDirectory() ? { kind: "directory", path: input } : { kind: "file", path: input };
  } catch (error) {
    throw new InputPathError(input, `cannot read input path "${input}": ${errorText(error)}`, { cause: error });
  }
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Every file under `dir`, depth first, sorted by name (byte order), following links once. */
async function* filesUnder(dir: string, seen: Set<string>): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    seen.add(await realpath(dir));
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new InputPathError(dir, `cannot read directory "${dir}": ${errorText(error)}`, { cause: error });
  }
  entries.sort(byName);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* filesUnder(path, seen);
    } else if (entry.isSymbolicLink()) {
      const target = await resolveInput(path);
      if (target.kind === "file") yield path;
      else if (target.kind === "directory" && !seen.has(await realpath(path))) yield* filesUnder(path, seen);
    } else {
      yield path;
    }
  }
}

function isDigestFile(path: string): boolean {
  return path.split(sep).includes(DIGEST_FOLDER);
}

async function* readFile(
  path: string,
  progress: IngestProgress,
  options: ReadChangeEventsOptions,
  listens: ListenScreen | undefined,
): AsyncGenerator<ScreenedResult[]> {
  if (isDigestFile(path)) {
    progress.records += 1;
    yield [ignored(path, DIGEST_REASON)];
  } else {
    yield* readSource(createReadStream(path, { highWaterMark: CHUNK_SIZE }), path, progress, options, listens);
  }
  fileDone(progress, options);
}

function fileDone(progress: IngestProgress, options: ReadChangeEventsOptions): void {
  progress.files += 1;
  options.onProgress?.({ ...progress });
}

/**
 * Reads CloudTrail data from files, folders (recursively, in sorted order, including the
 * `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/` layout) and `-` for stdin. Streams: memory stays flat
 * however large the inputs. Every input path is checked before the first result; one that cannot be read
 * throws `InputPathError`. Bad content never throws: it becomes `rejected` results and reading goes on.
 */
export async function* readChangeEvents(inputs: readonly string[], options: ReadChangeEventsOptions = {}): AsyncGenerator<IngestResult> {
  for await (const batch of readChangeEventBatches(inputs, options)) yield* batch;
}

/**
 * `readChangeEvents` in batches (the results of one chunk or one small log file, in order, never empty): a
 * consumer of hundreds of thousands of records pays one await per batch rather than one per record.
 */
export function readChangeEventBatches(inputs: readonly string[], options: ReadChangeEventsOptions = {}): AsyncGenerator<IngestResult[]> {
  // Without a screen nothing is `unmatched`: every result is an IngestResult.
  return batchesOf(inputs, options, undefined) as AsyncGenerator<IngestResult[]>;
}

/**
 * `readChangeEventBatches` for a consumer that only counts changes no control listens to (replay): a
 * well-formed change `listens` turns down comes as `unmatched` instead of a built ChangeEvent. Every other
 * result (rejections, ignored records, changes a control listens to) is exactly what the unscreened reader gives.
 */
export function readScreenedChangeEventBatches(
  inputs: readonly string[],
  listens: ListenScreen,
  options: ReadChangeEventsOptions = {},
): AsyncGenerator<ScreenedResult[]> {
  return batchesOf(inputs, options, listens);
}

async function* batchesOf(
  inputs: readonly string[],
  options: ReadChangeEventsOptions,
  listens: ListenScreen | undefined,
): AsyncGenerator<ScreenedResult[]> {
  const resolved = await Promise.all(inputs.map(resolveInput));
  const progress: IngestProgress = { bytes: 0, records: 0, files: 0 };
  for (const input of resolved) {
    if (input.kind === "stdin") {
      yield* readSource(process.stdin, "-", progress, options, listens);
      fileDone(progress, options);
    } else if (input.kind === "file") {
      yield* readFile(input.path, progress, options, listens);
    } else {
      for await (const file of filesUnder(input.path, new Set())) yield* readFile(file, progress, options, listens);
    }
  }
}

/** Reads one stream (stdin, a socket, a generator) the way `readChangeEvents` reads a file. */
export async function* readChangeEventsFromStream(
  stream: ByteSource,
  origin: string,
  options: ReadChangeEventsOptions = {},
): AsyncGenerator<IngestResult> {
  for await (const batch of readSource(stream, origin, { bytes: 0, records: 0, files: 0 }, options, undefined)) {
    yield* batch as IngestResult[];
  }
}

/** `readChangeEventsFromStream` through a screen, as `readScreenedChangeEventBatches` reads files. */
export async function* readScreenedChangeEventsFromStream(
  stream: ByteSource,
  origin: string,
  listens: ListenScreen,
  options: ReadChangeEventsOptions = {},
): AsyncGenerator<ScreenedResult> {
  for await (const batch of readSource(stream, origin, { bytes: 0, records: 0, files: 0 }, options, listens)) yield* batch;
}
