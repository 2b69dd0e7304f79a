import type { ValueSite } from "./ingest-result";
import { jsonSyntaxProblem } from "./json-syntax";

/** A parsed JSON value with its site, or a stretch of input that could not be read, with the reason. */
export type SplitItem = { kind: "value"; value: unknown; site: ValueSite } | { kind: "malformed"; source: string; reason: string };

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
/** First byte of a UTF-8 byte-order mark (EF BB BF), which concatenated files carry at a line start. */
const BOM_FIRST = 0xef;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

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
/** After input that is not JSON: skipping the rest of its line. */
const SKIP_LINE = 7;
/** After a fatal error: the rest of the input is ignored. */
const DEAD = 8;
/** After a JSON-lines value: the rest of its line must be blank for the value to count. */
const AFTER_LINE_VALUE = 9;

// scanValue results besides an end index.
const NEEDS_MORE = -1;
const STRING_BROKEN_BY_NEWLINE = -2;
const LINE_ENDS_INSIDE_VALUE = -3;

/** A `{"Records": [` head longer than this (absurd whitespace) is treated as an ordinary object. */
const HEAD_LOOKAHEAD_LIMIT = 4096;
const RECORDS_KEY = Buffer.from('"Records"', "latin1");
const HEAD_MISMATCH = -1;
const HEAD_NEEDS_MORE = -2;

// Where the scan of a pretty-printed top-level value stands relative to its line starts.
const MID_LINE = 0;
/** Right after a newline: a `{` or `[` here starts a new value. */
const AT_COLUMN_0 = 1;
/** After a newline and indentation: a `{` or `[` here starts a new value when content follows it on its line. */
const INDENTED = 2;

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
 * JSON lines: once a top-level value has started and ended on one line, the input is JSON lines, and every
 * later value must end on the line it starts on. A line that leaves a bracket or string open, or holds text
 * that is not JSON, is rejected on its own and reading goes on with the next line, whatever its indentation
 * or byte-order mark: every line is accounted for. Before that (a pretty-printed value), a value ends early
 * only where a new value clearly starts: a `{` or `[` at column 0, an indented one with content after it on
 * its line (pretty printers put nested brackets alone or closed at once), or a byte-order mark.
 *
 * Errors: inside a log file or array that spans lines, a syntax error loses the position of the next element,
 * so the rest of the input is rejected in one item naming the byte and line.
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
  /** Where the scan of a top-level value stands relative to line starts (pretty-printed input only). */
  private lineStart = MID_LINE;
  /** An indented bracket at the end of a chunk, held back until the byte after it shows whether a new value starts. */
  private holdFrom = -1;
  /** A JSON-lines value waiting for the end of its line. */
  private heldLineValue: SplitItem | undefined;
  /** Set once a top-level value started and ended on one line: the input is JSON lines. */
  private linesMode = false;
  /** The current top-level value or container must end on the line it started on (JSON lines). */
  private strict = false;
  private containerLine = 1;
  /** Absolute offset of the start of the line the scan is on, as far as whitespace between values shows. */
  private lineStartAt = 0;
  /** A line of text that is not JSON came before any JSON line (a YAML or Markdown file, say). */
  private afterText = false;
  /** Cache for nextNewline; -1 means unknown for the current chunk. */
  private newlineAt = -1;

  private container: Container = "array";
  private containerPrefix = "";
  private index = 0;
  private topValues = 0;
  /** An undecided `{"Records"` head, re-read with the next chunk. */
  private carry: Buffer | undefined;

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
        case AFTER_LINE_VALUE:
          i = this.afterLineValue(buf, i);
          break;
        default:
          i = buf.length;
      }
    }
    if (this.state === ELEMENT || this.state === TOP_VALUE) {
      const held = this.holdFrom;
      this.holdFrom = -1;
      this.pieces.push(buf.subarray(this.valueStart, held < 0 ? buf.length : held));
      if (held >= 0) this.carry = Buffer.from(buf.subarray(held));
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
    this.releaseLineValue();
    if (this.carry && this.state === TOP_VALUE) {
      // A held bracket belongs to the value that is still open; it is reported with it below.
      this.carry = undefined;
    }
    if (this.carry) {
      this.carry = undefined;
      this.malformed(`${this.origin}#line ${this.line}`, `line ${this.line}: incomplete JSON value at end of input`);
    }
    switch (this.state) {
      case FIRST_ELEMENT:
      case NEXT_ELEMENT:
      case ELEMENT:
      case AFTER_ELEMENT:
        this.die(
          this.elementSource(this.index),
          `input ends at byte ${this.base} (line ${this.line}) inside ${this.pendingPart()}: the file is truncated`,
        );
        break;
      case OBJECT_TAIL:
        this.die(
          `${this.origin}#byte ${this.base}`,
          `input ends at byte ${this.base} (line ${this.line}) before the log file's closing '}'`,
        );
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
    this.releaseLineValue();
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

  /** A syntax error in a container: in JSON lines only its line is lost, otherwise the rest of the input. */
  private syntaxError(source: string, reason: string): void {
    if (!this.strict) {
      this.die(
        source,
        `${reason}; ${this.state === ELEMENT ? "it and " : ""}the rest of the file ${this.state === ELEMENT ? "were" : "was"} skipped`,
      );
      return;
    }
    this.malformed(source, `${this.origin}: ${reason}; the rest of line ${this.line} was skipped`);
    this.pieces = [];
    this.skipRestOfLine();
  }

  private skipRestOfLine(): void {
    this.state = SKIP_LINE;
  }

  /** A JSON-lines value or container still open when its line ended: rejected alone; reading resumes at `next`. */
  private lineBroke(source: string, what: string, next: number): number {
    this.malformed(source, `line ${this.valueLine}: invalid JSON: ${what} at the end of line ${this.line - 1}`);
    this.pieces = [];
    this.state = TOP;
    this.lineStartAt = this.base + next;
    return next;
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
      if (c === NEWLINE) {
        this.line++;
        this.lineStartAt = this.base + i + 1;
      } else if (c !== SPACE && c !== TAB && c !== CARRIAGE_RETURN) break;
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
    this.lineStart = MID_LINE;
    this.holdFrom = -1;
    this.pieces = [];
    if (state === TOP_VALUE) this.strict = this.linesMode;
  }

  private openContainer(kind: Container, line: number): void {
    this.container = kind;
    this.containerPrefix = this.topValues > 1 ? `line ${line}.` : "";
    this.containerLine = line;
    this.strict = this.linesMode;
    this.valueLine = line;
    this.index = 0;
    this.state = FIRST_ELEMENT;
  }

  /** A top-level value or container has ended; one that stayed on its line makes the input JSON lines. */
  private topValueEnded(startLine: number): void {
    this.state = TOP;
    if (this.line === startLine) this.linesMode = true;
  }

  private atTop(buf: Buffer, from: number): number {
    const i = this.skipWhitespace(buf, from);
    if (i >= buf.length) return i;
    const c = buf[i];
    if (c === BOM_FIRST) {
      const mark = this.byteOrderMarkAt(buf, i);
      if (mark === NEEDS_MORE) return buf.length;
      if (mark > 0) {
        if (this.lineStartAt === this.base + i) this.lineStartAt = this.base + mark;
        return mark;
      }
    }
    // In text that is not JSON, an indented bracket is part of the text (JSON quoted in YAML), not a new value.
    const textGoesOn = this.afterText && !this.linesMode && this.base + i !== this.lineStartAt;
    if (textGoesOn) return this.notJson(i, c);
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
    return this.notJson(i, c);
  }

  private notJson(i: number, c: number | undefined): number {
    const found = c === OPEN_OBJECT || c === OPEN_ARRAY ? `an indented ${describeByte(c)} after text that is not JSON` : describeByte(c);
    this.malformed(
      `${this.origin}#line ${this.line}`,
      `line ${this.line}: not JSON: expected '{' or '[' at byte ${this.base + i}, found ${found}; the rest of the line was skipped`,
    );
    if (!this.linesMode) this.afterText = true;
    this.skipRestOfLine();
    return i + 1;
  }

  /**
   * The index after a byte-order mark at `at` (a file concatenated after another keeps its own), 0 when the
   * bytes there are not one, or NEEDS_MORE when the chunk ends inside it (the start is carried over).
   */
  private byteOrderMarkAt(buf: Buffer, at: number): number {
    const available = Math.min(BOM.length, buf.length - at);
    if (buf.compare(BOM, 0, available, at, at + available) !== 0) return 0;
    if (available === BOM.length) return at + BOM.length;
    this.carry = Buffer.from(buf.subarray(at));
    return NEEDS_MORE;
  }

  private skipLine(buf: Buffer, from: number): number {
    const newline = buf.indexOf(NEWLINE, from);
    if (newline < 0) return buf.length;
    this.line++;
    this.lineStartAt = this.base + newline + 1;
    this.state = TOP;
    return newline + 1;
  }

  /** In a JSON-lines container: the index of the next non-blank byte, or -1 after ending the container's broken line. */
  private blanksInLine(buf: Buffer, from: number): number {
    let i = from;
    while (i < buf.length && (buf[i] === SPACE || buf[i] === TAB || buf[i] === CARRIAGE_RETURN)) i++;
    if (buf[i] !== NEWLINE) return i;
    this.line++;
    const what = `${this.container === "Records" ? "the Records array" : "the array"} is still open`;
    this.lineBroke(this.elementSource(this.index), what, i + 1);
    this.brokenAt = i + 1;
    return -1;
  }

  private atElementStart(buf: Buffer, from: number): number {
    const i = this.strict ? this.blanksInLine(buf, from) : this.skipWhitespace(buf, from);
    if (i < 0) return this.brokenAt;
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
      this.lineStart = MID_LINE;
    } else {
      this.topValueEnded(this.containerLine);
    }
    return next;
  }

  private inElement(buf: Buffer, from: number): number {
    const stop = this.scanValue(buf, from, this.strict);
    if (stop === STRING_BROKEN_BY_NEWLINE || stop === LINE_ENDS_INSIDE_VALUE) {
      return this.lineBroke(this.elementSource(this.index), `${this.elementPath(this.index)} is not closed`, this.brokenAt);
    }
    if (stop < 0) return buf.length;
    const text = this.takeValueText(buf, stop);
    const index = this.index;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const problem = jsonSyntaxProblem(error);
      const at = problem.position === undefined ? this.valueOffset : this.valueOffset + Buffer.byteLength(text.slice(0, problem.position));
      this.syntaxError(
        this.elementSource(index),
        `invalid JSON in ${this.elementPath(index)} at byte ${at} (line ${this.valueLine}): ${problem.message}`,
      );
      return this.state === DEAD ? buf.length : stop;
    }
    const path = this.elementPath(index);
    this.out.push({ kind: "value", value, site: { source: `${this.origin}#${this.containerPrefix}${path}`, path } });
    this.index = index + 1;
    this.state = AFTER_ELEMENT;
    return stop;
  }

  private afterElement(buf: Buffer, from: number): number {
    const i = this.strict ? this.blanksInLine(buf, from) : this.skipWhitespace(buf, from);
    if (i < 0) return this.brokenAt;
    if (i >= buf.length) return i;
    const c = buf[i];
    if (c === COMMA) {
      this.state = NEXT_ELEMENT;
      return i + 1;
    }
    if (c === CLOSE_ARRAY) return this.closeContainer(i + 1);
    this.syntaxError(
      this.elementSource(this.index),
      `invalid JSON at byte ${this.base + i} (line ${this.line}): expected ',' or ']' after ${this.elementPath(this.index - 1)}, found ${describeByte(c)}`,
    );
    return this.state === DEAD ? buf.length : i;
  }

  private inObjectTail(buf: Buffer, from: number): number {
    const stop = this.scanValue(buf, from, this.strict);
    if (stop === STRING_BROKEN_BY_NEWLINE || stop === LINE_ENDS_INSIDE_VALUE) {
      return this.lineBroke(`${this.origin}#line ${this.valueLine}`, "the log file's closing '}' is missing", this.brokenAt);
    }
    if (stop < 0) return buf.length;
    this.topValueEnded(this.containerLine);
    return stop;
  }

  private inTopValue(buf: Buffer, from: number): number {
    const stop = this.scanValue(buf, from, true);
    if (stop === NEEDS_MORE) return buf.length;
    if (stop === STRING_BROKEN_BY_NEWLINE || stop === LINE_ENDS_INSIDE_VALUE) {
      const what = stop === STRING_BROKEN_BY_NEWLINE ? "a string is not closed" : "'{' or '[' is still open";
      return this.lineBroke(this.topSource(), what, this.brokenAt);
    }
    const text = this.takeValueText(buf, stop);
    const strict = this.strict;
    this.topValueEnded(this.valueLine);
    let item: SplitItem;
    try {
      item = { kind: "value", value: JSON.parse(text), site: { source: this.topSource(), path: "" } };
    } catch (error) {
      this.malformed(this.topSource(), `line ${this.valueLine}: invalid JSON (${jsonSyntaxProblem(error).message})`);
      // In JSON lines the line is the unit: nothing else on it may count as another one.
      if (strict) this.skipRestOfLine();
      return stop;
    }
    if (!strict) {
      this.out.push(item);
      return stop;
    }
    this.heldLineValue = item;
    this.state = AFTER_LINE_VALUE;
    return stop;
  }

  /** A JSON-lines value counts once its line ends blank; text after it makes the whole line one rejection. */
  private afterLineValue(buf: Buffer, from: number): number {
    let i = from;
    while (i < buf.length && (buf[i] === SPACE || buf[i] === TAB || buf[i] === CARRIAGE_RETURN)) i++;
    if (i >= buf.length) return i;
    if (buf[i] === NEWLINE) {
      this.releaseLineValue();
      this.state = TOP;
      return i;
    }
    this.heldLineValue = undefined;
    this.malformed(
      this.topSource(),
      `line ${this.valueLine}: invalid JSON lines: ${describeByte(buf[i])} at byte ${this.base + i} follows the value on its line; the line was skipped`,
    );
    this.skipRestOfLine();
    return i;
  }

  private releaseLineValue(): void {
    if (this.heldLineValue) this.out.push(this.heldLineValue);
    this.heldLineValue = undefined;
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
   * error: a raw newline inside a string, or a line that ends with the value still open while the input is
   * JSON lines (`strict`) or while the next line clearly starts a new value (see the class comment).
   */
  private scanValue(buf: Buffer, from: number, lineChecks: boolean): number {
    let i = from;
    if (this.inString) {
      const close = this.closingQuote(buf, i, lineChecks);
      if (close < 0) return close;
      this.inString = false;
      if (this.depth === 0) return close + 1;
      i = close + 1;
    }
    let depth = this.depth;
    let lineStart = this.lineStart;
    let stop = NEEDS_MORE;
    const end = buf.length;
    for (; i < end; i++) {
      const c = buf[i];
      if (lineStart !== MID_LINE) {
        const verdict = this.lineStartVerdict(buf, i, lineStart);
        if (verdict === LINE_ENDS_INSIDE_VALUE || verdict === NEEDS_MORE) {
          stop = verdict;
          break;
        }
        lineStart = verdict;
      }
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
        if (this.strict) {
          this.brokenAt = i + 1;
          stop = LINE_ENDS_INSIDE_VALUE;
          break;
        }
        lineStart = AT_COLUMN_0;
      }
    }
    this.depth = depth;
    this.lineStart = lineStart;
    return stop;
  }

  /**
   * At the start of a line inside a pretty-printed top-level value: LINE_ENDS_INSIDE_VALUE when byte `i` starts
   * a new value (the open one broke off on the line before), NEEDS_MORE when the chunk ends before that is
   * known (the bracket is held back for the next chunk), else the line-start state to go on with.
   */
  private lineStartVerdict(buf: Buffer, i: number, lineStart: number): number {
    const c = buf[i];
    if (c === SPACE || c === TAB || c === CARRIAGE_RETURN) return INDENTED;
    if (c === BOM_FIRST) {
      this.brokenAt = i;
      return LINE_ENDS_INSIDE_VALUE;
    }
    if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) return c === NEWLINE ? lineStart : MID_LINE;
    if (lineStart === INDENTED) {
      if (i + 1 >= buf.length) {
        this.holdFrom = i;
        return NEEDS_MORE;
      }
      const next = buf[i + 1];
      if (isBlank(next) || next === CLOSE_OBJECT || next === CLOSE_ARRAY) return MID_LINE;
    }
    this.brokenAt = i;
    return LINE_ENDS_INSIDE_VALUE;
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
