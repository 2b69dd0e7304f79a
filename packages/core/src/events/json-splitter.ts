import type { ValueSite } from "./ingest-result";
import { jsonSyntaxProblem } from "./json-syntax";

/** A parsed JSON value with its site, or a stretch of input that could not be read, with the reason. */
export type SplitItem =
  | { kind: "value"; value: unknown; site: ValueSite }
  | { kind: "malformed"; source: string; reason: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

// Scanner states.
/** Between top-level values. */
const TOP = 0;
/** After a container's `[`: an element or `]`. */
const FIRST_ELEMENT = 1;
/** After `,` in a container. */
const NEXT_ELEMENT = 2;
/** Inside a container element. */
const ELEMENT = 3;
/** After an element: `,` or `]`. */
const AFTER_ELEMENT = 4;
/** The rest of a log file object after its Records array. */
const OBJECT_TAIL = 5;
/** Inside a top-level object that is parsed whole (a record, an envelope, one JSON line). */
const TOP_VALUE = 6;
/** After input that is not JSON: skipping to a line that starts with `{` or `[`. */
const SKIP_LINE = 7;
/** After a fatal error: the rest of the input is ignored. */
const DEAD = 8;

// scanValue results besides an end index.
const NEEDS_MORE = -1;
const STRING_BROKEN_BY_NEWLINE = -2;
const LINE_ENDS_INSIDE_VALUE = -3;

/** A `{"Records": [` head longer than this (absurd whitespace) is treated as an ordinary object. */
const HEAD_LOOKAHEAD_LIMIT = 4096;
const RECORDS_KEY = Buffer.from('"Records"', "latin1");
const HEAD_MISMATCH = -1;
const HEAD_NEEDS_MORE = -2;

type Container = "Records" | "array";

function isBlank(c: number | undefined): boolean {
  return c === SPACE || c === NEWLINE || c === CARRIAGE_RETURN || c === TAB;
}

function skipBlanks(buf: Buffer, from: number): number {
  let i = from;
  while (i < buf.length && isBlank(buf[i])) i++;
  return i;
}

function countNewlines(buf: Buffer, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) if (buf[i] === NEWLINE) count++;
  return count;
}

function describeByte(c: number | undefined): string {
  if (c === undefined) return "end of input";
  return c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, "0")}`;
}

/**
 * Where the Records array of a log file starts, when the object opening at `from - 1` is `{"Records": [`
 * (CloudTrail always writes Records first).
 */
function recordsArrayStart(buf: Buffer, from: number): number {
  let i = skipBlanks(buf, from);
  for (let k = 0; k < RECORDS_KEY.length; k++, i++) {
    if (i >= buf.length) return HEAD_NEEDS_MORE;
    if (buf[i] !== RECORDS_KEY[k]) return HEAD_MISMATCH;
  }
  i = skipBlanks(buf, i);
  if (i >= buf.length) return HEAD_NEEDS_MORE;
  if (buf[i] !== COLON) return HEAD_MISMATCH;
  i = skipBlanks(buf, i + 1);
  if (i >= buf.length) return HEAD_NEEDS_MORE;
  return buf[i] === OPEN_ARRAY ? i + 1 : HEAD_MISMATCH;
}

/**
 * Splits a byte stream of JSON into values without ever holding more than one value in memory.
 *
 * A log file `{"Records": [...]}` and a top-level array are split into their elements; any other top-level
 * value (a record, an envelope, one line of JSON lines) is taken whole. The scanner tracks only nesting depth
 * and string/escape state (jumping over string contents with a native search) and hands each element's bytes
 * to `JSON.parse`: boundaries are found on ASCII brackets, so a UTF-8 character split across chunks is always
 * decoded whole.
 *
 * Errors: inside a log file or array, a syntax error loses the position of the next element, so the rest of
 * the input is rejected in one item naming the byte and line. Between top-level values (JSON lines), a bad
 * value is rejected on its own and scanning resumes at the next line, so one bad line never hides the others.
 */
export class JsonValueSplitter {
  private state = TOP;
  /** Absolute offset of the current chunk's first byte. */
  private base = 0;
  private line = 1;
  private out: SplitItem[] = [];

  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Bytes of the current value from earlier chunks. */
  private pieces: Buffer[] = [];
  private valueStart = 0;
  private valueOffset = 0;
  private valueLine = 1;
  /** Where scanValue stopped on a line-level error. */
  private brokenAt = 0;
  /** A chunk ended right after a newline inside a top-level value: the next byte decides if the line broke off. */
  private lineEndedOpen = false;
  /** Cache for nextNewline; -1 means unknown for the current chunk. */
  private newlineAt = -1;

  private container: Container = "array";
  private containerPrefix = "";
  private index = 0;
  private topValues = 0;
  /** An undecided `{"Records"` head, re-read with the next chunk. */
  private carry: Buffer | undefined;
  private atLineStart = false;

  constructor(private readonly origin: string) {}

  /** Consumes the next chunk; returns the values completed in it, in order. */
  push(chunk: Buffer): SplitItem[] {
    this.out = [];
    this.newlineAt = -1;
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = undefined;
    }
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case TOP:
          i = this.atTop(buf, i);
          break;
        case FIRST_ELEMENT:
        case NEXT_ELEMENT:
          i = this.atElementStart(buf, i);
          break;
        case ELEMENT:
          i = this.inElement(buf, i);
          break;
        case AFTER_ELEMENT:
          i = this.afterElement(buf, i);
          break;
        case OBJECT_TAIL:
          i = this.inObjectTail(buf, i);
          break;
        case TOP_VALUE:
          i = this.inTopValue(buf, i);
          break;
        case SKIP_LINE:
          i = this.skipLine(buf, i);
          break;
        default:
          i = buf.length;
      }
    }
    if (this.state === ELEMENT || this.state === TOP_VALUE) {
      this.pieces.push(buf.subarray(this.valueStart));
      this.valueStart = 0;
    }
    this.base += buf.length - this.carriedBytes();
    return this.out;
  }

  private carriedBytes(): number {
    return this.carry?.length ?? 0;
  }

  /** Call at the end of input: reports a value or container left open (a truncated file). */
  finish(): SplitItem[] {
    this.out = [];
    if (this.carry) {
      this.carry = undefined;
      this.malformed(`${this.origin}#line ${this.line}`, `line ${this.line}: incomplete JSON value at end of input`);
    }
    switch (this.state) {
      case FIRST_ELEMENT:
      case NEXT_ELEMENT:
      case ELEMENT:
      case AFTER_ELEMENT:
        this.die(this.elementSource(this.index), `input ends at byte ${this.base} (line ${this.line}) inside ${this.pendingPart()}: the file is truncated`);
        break;
      case OBJECT_TAIL:
        this.die(`${this.origin}#byte ${this.base}`, `input ends at byte ${this.base} (line ${this.line}) before the log file's closing '}'`);
        break;
      case TOP_VALUE:
        this.malformed(this.topSource(), `line ${this.valueLine}: incomplete JSON value at end of input (byte ${this.base})`);
        break;
    }
    this.state = DEAD;
    this.pieces = [];
    return this.out;
  }

  /** The input broke off (a corrupt gzip stream): rejects what was pending and stops. */
  abort(cause: string): SplitItem[] {
    this.out = [];
    const inContainer = this.state >= FIRST_ELEMENT && this.state <= AFTER_ELEMENT;
    const pending = inContainer || this.state === TOP_VALUE;
    const source = inContainer ? this.elementSource(this.index) : pending ? this.topSource() : `${this.origin}#byte ${this.base}`;
    const skipped = pending ? `${this.pendingPart()} and the rest of the file were skipped` : "the rest of the file was skipped";
    this.die(source, `${cause} after ${this.base} bytes of data (line ${this.line}); ${skipped}`);
    this.carry = undefined;
    return this.out;
  }

  private pendingPart(): string {
    if (this.state === TOP_VALUE) return `the value starting on line ${this.valueLine}`;
    if (this.state === ELEMENT) return this.elementPath(this.index);
    return this.container === "Records" ? "the Records array" : "the array";
  }

  private malformed(source: string, reason: string): void {
    this.out.push({ kind: "malformed", source, reason });
  }

  private die(source: string, reason: string): void {
    this.malformed(source, `${this.origin}: ${reason}`);
    this.state = DEAD;
    this.pieces = [];
  }

  private elementPath(index: number): string {
    return this.container === "Records" ? `Records[${index}]` : `[${index}]`;
  }

  private elementSource(index: number): string {
    return `${this.origin}#${this.containerPrefix}${this.elementPath(index)}`;
  }

  private topSource(): string {
    return `${this.origin}#line ${this.valueLine}`;
  }

  private skipWhitespace(buf: Buffer, from: number): number {
    let i = from;
    for (; i < buf.length; i++) {
      const c = buf[i];
      if (c === NEWLINE) this.line++;
      else if (c !== SPACE && c !== TAB && c !== CARRIAGE_RETURN) break;
    }
    return i;
  }

  private beginValue(at: number, state: number): void {
    this.state = state;
    this.valueStart = at;
    this.valueOffset = this.base + at;
    this.valueLine = this.line;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.lineEndedOpen = false;
    this.pieces = [];
  }

  private openContainer(kind: Container, line: number): void {
    this.container = kind;
    this.containerPrefix = this.topValues > 1 ? `line ${line}.` : "";
    this.index = 0;
    this.state = FIRST_ELEMENT;
  }

  private atTop(buf: Buffer, from: number): number {
    const i = this.skipWhitespace(buf, from);
    if (i >= buf.length) return i;
    const c = buf[i];
    if (c === OPEN_ARRAY) {
      this.topValues++;
      this.openContainer("array", this.line);
      return i + 1;
    }
    if (c === OPEN_OBJECT) {
      const arrayStart = recordsArrayStart(buf, i + 1);
      if (arrayStart === HEAD_NEEDS_MORE && buf.length - i < HEAD_LOOKAHEAD_LIMIT) {
        this.carry = buf.subarray(i);
        return buf.length;
      }
      this.topValues++;
      if (arrayStart >= 0) {
        const line = this.line;
        this.line += countNewlines(buf, i, arrayStart);
        this.openContainer("Records", line);
        return arrayStart;
      }
      this.beginValue(i, TOP_VALUE);
      return i;
    }
    this.malformed(
      `${this.origin}#line ${this.line}`,
      `line ${this.line}: not JSON: expected '{' or '[' at byte ${this.base + i}, found ${describeByte(c)}; skipped to the next line that starts with '{' or '['`,
    );
    this.state = SKIP_LINE;
    this.atLineStart = false;
    return i + 1;
  }

  private skipLine(buf: Buffer, from: number): number {
    let i = from;
    for (;;) {
      if (this.atLineStart) {
        this.atLineStart = false;
        if (buf[i] === OPEN_OBJECT || buf[i] === OPEN_ARRAY) {
          this.state = TOP;
          return i;
        }
      }
      const newline = buf.indexOf(NEWLINE, i);
      if (newline < 0) return buf.length;
      this.line++;
      this.atLineStart = true;
      i = newline + 1;
      if (i >= buf.length) return i;
    }
  }

  private atElementStart(buf: Buffer, from: number): number {
    const i = this.skipWhitespace(buf, from);
    if (i >= buf.length) return i;
    // `]` after `,` is a trailing comma: no element is lost, so it is accepted.
    if (buf[i] === CLOSE_ARRAY) return this.closeContainer(i + 1);
    this.beginValue(i, ELEMENT);
    return i;
  }

  private closeContainer(next: number): number {
    if (this.container === "Records") {
      this.state = OBJECT_TAIL;
      this.depth = 1;
      this.inString = false;
      this.escaped = false;
    } else {
      this.state = TOP;
    }
    return next;
  }

  private inElement(buf: Buffer, from: number): number {
    const stop = this.scanValue(buf, from, false);
    if (stop < 0) return buf.length;
    const text = this.takeValueText(buf, stop);
    const index = this.index;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const problem = jsonSyntaxProblem(error);
      const at = problem.position === undefined ? this.valueOffset : this.valueOffset + Buffer.byteLength(text.slice(0, problem.position));
      this.die(
        this.elementSource(index),
        `invalid JSON in ${this.elementPath(index)} at byte ${at} (line ${this.valueLine}): ${problem.message}; it and the rest of the file were skipped`,
      );
      return buf.length;
    }
    const path = this.elementPath(index);
    this.out.push({ kind: "value", value, site: { source: `${this.origin}#${this.containerPrefix}${path}`, path } });
    this.index = index + 1;
    this.state = AFTER_ELEMENT;
    return stop;
  }

  private afterElement(buf: Buffer, from: number): number {
    const i = this.skipWhitespace(buf, from);
    if (i >= buf.length) return i;
    const c = buf[i];
    if (c === COMMA) {
      this.state = NEXT_ELEMENT;
      return i + 1;
    }
    if (c === CLOSE_ARRAY) return this.closeContainer(i + 1);
    this.die(
      this.elementSource(this.index),
      `invalid JSON at byte ${this.base + i} (line ${this.line}): expected ',' or ']' after ${this.elementPath(this.index - 1)}, found ${describeByte(c)}; the rest of the file was skipped`,
    );
    return buf.length;
  }

  private inObjectTail(buf: Buffer, from: number): number {
    const stop = this.scanValue(buf, from, false);
    if (stop < 0) return buf.length;
    this.state = TOP;
    return stop;
  }

  private inTopValue(buf: Buffer, from: number): number {
    const stop = this.scanValue(buf, from, true);
    if (stop === NEEDS_MORE) return buf.length;
    if (stop === STRING_BROKEN_BY_NEWLINE || stop === LINE_ENDS_INSIDE_VALUE) {
      const what = stop === STRING_BROKEN_BY_NEWLINE ? "a string is not closed" : "'{' or '[' is still open";
      this.malformed(this.topSource(), `line ${this.valueLine}: invalid JSON: ${what} at the end of line ${this.line - 1}`);
      this.pieces = [];
      this.state = TOP;
      return this.brokenAt;
    }
    const text = this.takeValueText(buf, stop);
    this.state = TOP;
    try {
      this.out.push({ kind: "value", value: JSON.parse(text), site: { source: this.topSource(), path: "" } });
    } catch (error) {
      this.malformed(this.topSource(), `line ${this.valueLine}: invalid JSON (${jsonSyntaxProblem(error).message})`);
    }
    return stop;
  }

  private takeValueText(buf: Buffer, stop: number): string {
    if (this.pieces.length === 0) return buf.toString("utf8", this.valueStart, stop);
    this.pieces.push(buf.subarray(0, stop));
    const text = Buffer.concat(this.pieces).toString("utf8");
    this.pieces = [];
    return text;
  }

  /**
   * Advances through the current value from `from`. Returns the index just past its end, NEEDS_MORE when the
   * chunk ends first, or, when `lineChecks` is on (top-level values, which may be JSON lines), a line-level
   * error: a raw newline inside a string, or a line that ends with the value still open and is followed by a
   * line starting with `{` or `[`. Pretty-printed JSON indents nested values, so that is a new line's value.
   */
  private scanValue(buf: Buffer, from: number, lineChecks: boolean): number {
    let i = from;
    if (this.lineEndedOpen) {
      // The previous chunk ended with a newline inside this value; the peek happens here.
      this.lineEndedOpen = false;
      if (buf[i] === OPEN_OBJECT || buf[i] === OPEN_ARRAY) {
        this.brokenAt = i;
        return LINE_ENDS_INSIDE_VALUE;
      }
    }
    if (this.inString) {
      const close = this.closingQuote(buf, i, lineChecks);
      if (close < 0) return close;
      this.inString = false;
      if (this.depth === 0) return close + 1;
      i = close + 1;
    }
    let depth = this.depth;
    let stop = NEEDS_MORE;
    const end = buf.length;
    for (; i < end; i++) {
      const c = buf[i];
      if (c === QUOTE) {
        const close = this.closingQuote(buf, i + 1, lineChecks);
        if (close < 0) {
          this.inString = close === NEEDS_MORE;
          stop = close;
          break;
        }
        i = close;
        if (depth === 0) {
          stop = i + 1;
          break;
        }
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        depth++;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (depth === 0) {
          // A bare number or literal ends at its container's bracket.
          stop = i;
          break;
        }
        if (--depth === 0) {
          stop = i + 1;
          break;
        }
      } else if (depth === 0) {
        if (c === COMMA || isBlank(c)) {
          stop = i;
          break;
        }
      } else if (c === NEWLINE) {
        this.line++;
        if (!lineChecks) continue;
        if (i + 1 === end) {
          this.lineEndedOpen = true;
        } else if (buf[i + 1] === OPEN_OBJECT || buf[i + 1] === OPEN_ARRAY) {
          this.brokenAt = i + 1;
          stop = LINE_ENDS_INSIDE_VALUE;
          break;
        }
      }
    }
    this.depth = depth;
    return stop;
  }

  /** The first newline at or after `from` in the current chunk (MAX_SAFE_INTEGER when none), cached per chunk. */
  private nextNewline(buf: Buffer, from: number): number {
    if (this.newlineAt < from) {
      const found = buf.indexOf(NEWLINE, from);
      this.newlineAt = found < 0 ? Number.MAX_SAFE_INTEGER : found;
    }
    return this.newlineAt;
  }

  /**
   * The index of the quote that closes the string whose content starts at `from`, found with a native search
   * rather than byte by byte (strings are most of CloudTrail's bytes). A quote preceded by an odd run of
   * backslashes is escaped. When the chunk ends first, remembers whether its last byte escapes the next
   * chunk's first and returns NEEDS_MORE. With `lineChecks`, a raw newline before the quote is an error.
   */
  private closingQuote(buf: Buffer, from: number, lineChecks: boolean): number {
    let start = from;
    if (this.escaped) {
      this.escaped = false;
      start++;
    }
    let quote = start - 1;
    for (;;) {
      quote = buf.indexOf(QUOTE, quote + 1);
      const limit = quote < 0 ? buf.length : quote;
      if (lineChecks) {
        const newline = this.nextNewline(buf, start);
        if (newline < limit) {
          this.line++;
          this.brokenAt = newline + 1;
          return STRING_BROKEN_BY_NEWLINE;
        }
      }
      let backslashes = 0;
      for (let k = limit - 1; k >= start && buf[k] === BACKSLASH; k--) backslashes++;
      const oddRun = (backslashes & 1) === 1;
      if (quote < 0) {
        this.escaped = oddRun;
        return NEEDS_MORE;
      }
      if (!oddRun) return quote;
    }
  }
}
