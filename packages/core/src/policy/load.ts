import { open } from "node:fs/promises";
import { LineCounter, isMap, isNode, isPair, isScalar, isSeq, parseDocument, visit, type Document } from "yaml";
import { findValueBeyondLimits } from "../events/value-limits";
import type { AnyControl, Control } from "../controls/contract";
import { PolicyError } from "./errors";
import { describeZodIssues, formatPath, type PolicyIssue, type RawPolicyIssue } from "./issues";
import { policySchema, type Policy } from "./schema";

interface Position {
  line: number;
  column: number;
}

/** Finds where a field path sits in the source text, when it can. */
type Locator = (path: readonly PropertyKey[]) => Position | undefined;

const nowhere: Locator = () => undefined;

export const DEFAULT_POLICY_SOURCE = "built-in default";

/**
 * The largest policy file read: 1 MiB. A real policy is a few kilobytes (the documented example is about 4 KB,
 * and a thousand exemptions fit well under the limit); a YAML parser holds several times a file's size in
 * memory, so a larger file is refused before it is read rather than allowed to exhaust the process.
 */
export const MAX_POLICY_BYTES = 1024 * 1024;

/** Deeper than any policy field (exemption lists sit 3 levels down), far shallower than recursive walks survive. */
const MAX_POLICY_DEPTH = 32;

function tooLarge(size: number): string {
  return `the policy file is larger than the ${MAX_POLICY_BYTES.toLocaleString("en-US")}-byte (1 MiB) limit (${size.toLocaleString("en-US")} bytes or more); a policy is a few kilobytes: check that this is the right file`;
}
/**
 * Parses and validates a policy (YAML, or JSON, which is detected by its opening brace). Throws a PolicyError
 * listing every problem with its field path and, where the text allows, its line and column.
 */
export function parsePolicy(text: string, sourceName: string, registry: readonly AnyControl[]): Policy {
  if (Buffer.byteLength(text, "utf8") > MAX_POLICY_BYTES) {
    throw new PolicyError(sourceName, [{ path: "", message: tooLarge(Buffer.byteLength(text, "utf8")) }]);
  }
  // Editors on Windows may save a byte-order mark, which JSON.parse rejects.
  const { value, locate } = readDocument(text.replace(/^\uFEFF/, ""), sourceName);
  return validatePolicy(value, sourceName, registry, locate);
}

export async function loadPolicyFile(path: string, registry: readonly AnyControl[]): Promise<Policy> {
  let bytes: Buffer;
  try {
    bytes = await readAtMost(path, MAX_POLICY_BYTES + 1);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PolicyError(path, [{ path: "", message: `cannot read the policy file: ${reason}` }], { cause: error });
  }
  if (bytes.length > MAX_POLICY_BYTES) throw new PolicyError(path, [{ path: "", message: tooLarge(bytes.length) }]);
  return parsePolicy(bytes.toString("utf8"), path, registry);
}

/** Up to `limit` bytes of a file, never more, whatever its size says (a pipe or a device has none). */
async function readAtMost(path: string, limit: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(limit);
    let filled = 0;
    while (filled < limit) {
      const { bytesRead } = await handle.read(buffer, filled, limit - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** The policy file when one is given; the built-in default (every field at its default) otherwise. */
export async function loadPolicy(path: string | undefined, registry: readonly AnyControl[]): Promise<Policy> {
  return path === undefined ? defaultPolicy(registry) : loadPolicyFile(path, registry);
}

/** The built-in default policy with every registered control's default options resolved. */
export function defaultPolicy(registry: readonly AnyControl[]): Policy {
  return validatePolicy({}, DEFAULT_POLICY_SOURCE, registry, nowhere);
}

/** The built-in default for no particular registry; shared, so frozen. `controlOptions` resolves defaults lazily. */
export const DEFAULT_POLICY: Policy = deepFreeze(defaultPolicy([]));

/**
 * A control's options as the policy set them, parsed with the control's own schema (defaults filled in).
 * The loader resolves them for every registered control; a control the policy was not loaded with gets its
 * defaults, checked the same way and reported with the same field path.
 */
export function controlOptions<O>(policy: Policy, control: Control<O>): O;
export function controlOptions(policy: Policy, control: AnyControl): unknown;
export function controlOptions(policy: Policy, control: AnyControl): unknown {
  const settings = policy.controls[control.id];
  if (settings) return settings.options;
  const parsed = control.options.safeParse({}, { reportInput: true });
  if (parsed.success) return parsed.data;
  const prefix = ["controls", control.id, "options"];
  const issues = describeZodIssues(parsed.error.issues, control.options).map((issue) => ({
    path: formatPath([...prefix, ...issue.path]),
    message: issue.message,
  }));
  throw new PolicyError(policy.source, issues, { cause: parsed.error });
}

function validatePolicy(value: unknown, source: string, registry: readonly AnyControl[], locate: Locator): Policy {
  const beyondLimits = findValueBeyondLimits(value, MAX_POLICY_DEPTH);
  if (beyondLimits) {
    // Enough of the path to find the field; the rest of a deep nest says nothing more.
    const path = beyondLimits.segments.slice(0, 4);
    const message =
      beyondLimits.problem === "non-finite-number"
        ? "not a finite number (it reads as infinity or NaN): write a number in range"
        : `nested more than ${MAX_POLICY_DEPTH} levels deep; no policy field nests that far`;
    throw new PolicyError(source, [locatedIssue({ path, message }, locate)]);
  }
  const schema = policySchema(registry);
  // An empty file (or one holding only comments) is the default policy.
  const result = schema.safeParse(value ?? {}, { reportInput: true });
  if (!result.success) {
    const issues = describeZodIssues(result.error.issues, schema)
      .map((issue) => locatedIssue(issue, locate))
      .sort(byPosition);
    throw new PolicyError(source, issues, { cause: result.error });
  }
  return { ...result.data, source };
}

function locatedIssue(issue: RawPolicyIssue, locate: Locator): PolicyIssue {
  const position = locate(issue.path);
  return { path: formatPath(issue.path), message: issue.message, ...(position ?? {}) };
}

/** File order, so the list reads top to bottom like the file; issues without a position go last. */
function byPosition(a: PolicyIssue, b: PolicyIssue): number {
  const lineA = a.line ?? Number.POSITIVE_INFINITY;
  const lineB = b.line ?? Number.POSITIVE_INFINITY;
  if (lineA !== lineB) return lineA < lineB ? -1 : 1;
  return (a.column ?? 0) - (b.column ?? 0);
}

/**
 * Where brackets (`[`, `{`, in JSON or YAML flow style) first nest deeper than `limit`, or -1. Quoted strings
 * and comments are skipped. The YAML parser recurses per level and slows to seconds on a nest thousands deep,
 * so such a file is refused before it is parsed.
 */
function bracketNestingBeyond(text: string, limit: number): number {
  let depth = 0;
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== "") {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1] ?? ""))) {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
    } else if (c === "[" || c === "{") {
      if (++depth > limit) return i;
    } else if ((c === "]" || c === "}") && depth > 0) {
      depth--;
    }
  }
  return -1;
}

function readDocument(text: string, source: string): { value: unknown; locate: Locator } {
  const tooDeep = bracketNestingBeyond(text, MAX_POLICY_DEPTH);
  if (tooDeep >= 0) {
    const before = text.slice(0, tooDeep);
    const position = { line: before.split("\n").length, column: tooDeep - before.lastIndexOf("\n") };
    throw new PolicyError(source, [
      { path: "", message: `brackets nest more than ${MAX_POLICY_DEPTH} levels deep; no policy field nests that far`, ...position },
    ]);
  }
  const looksLikeJson = /^\s*[{[]/.test(text);
  let jsonValue: unknown;
  if (looksLikeJson) {
    try {
      jsonValue = JSON.parse(text);
    } catch (error) {
      throw jsonSyntaxError(text, source, error);
    }
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  // JSON that JSON.parse accepted is valid YAML too, except that YAML rejects duplicate keys, which JSON.parse
  // silently resolves to the last one: a policy with two `mode`s is a mistake either way.
  const syntaxErrors = looksLikeJson ? document.errors.filter((error) => error.code === "DUPLICATE_KEY") : document.errors;
  if (syntaxErrors.length > 0) {
    // A stack overflow is reported once per level it unwinds through; once says it.
    const overflow = syntaxErrors.find((error) => isStackOverflow(error.message));
    const issues = (overflow ? [overflow] : syntaxErrors).map((error) => ({
      path: "",
      message: isStackOverflow(error.message) ? NESTED_TOO_DEEP : error.message,
      ...positionAt(lineCounter, error.pos[0]),
    }));
    throw new PolicyError(source, issues, { cause: syntaxErrors[0] });
  }
  const tagged = explicitTags(document, lineCounter);
  if (tagged.length > 0) throw new PolicyError(source, tagged);
  const locate: Locator = document.errors.length === 0 ? (path) => locateInDocument(document, lineCounter, path) : nowhere;
  if (looksLikeJson) return { value: jsonValue, locate };
  try {
    return { value: document.toJS(), locate };
  } catch (error) {
    // toJS refuses documents whose aliases expand without bound (the "billion laughs" attack).
    const reason = error instanceof Error ? error.message : String(error);
    throw new PolicyError(source, [{ path: "", message: isStackOverflow(reason) ? NESTED_TOO_DEEP : reason }], { cause: error });
  }
}

const NESTED_TOO_DEEP = "lists or mappings are nested too deeply to read; no policy field nests more than a few levels";

function isStackOverflow(message: string): boolean {
  return message.includes("Maximum call stack size exceeded");
}

/**
 * Every node with an explicit YAML tag (`!!js/function`, `!custom`, even `!!str`). A policy is plain data: a
 * tag either asks for something the loader will not build (code, custom types) or is silently dropped, and
 * either way the file would not mean what it says.
 */
function explicitTags(document: Document, lineCounter: LineCounter): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  visit(document, (_key, node, ancestors) => {
    if (!isNode(node) || node.tag === undefined) return;
    const segments: PropertyKey[] = [];
    ancestors.forEach((step, index) => {
      const child = ancestors[index + 1] ?? node;
      if (isPair(step) && isScalar(step.key) && child === step.value) segments.push(String(step.key.value));
      else if (isSeq(step)) segments.push(step.items.indexOf(child));
    });
    issues.push({
      path: formatPath(segments),
      message: `YAML tag ${node.tag.replace(/^tag:yaml\.org,2002:/, "!!").slice(0, 60)} is not allowed: a policy holds plain values (strings, numbers, booleans, lists, mappings); remove the tag`,
      ...(node.range ? positionAt(lineCounter, node.range[0]) : {}),
    });
  });
  return issues;
}

function positionAt(lineCounter: LineCounter, offset: number): Position {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** The key (or list item) at `path`; when the path leads nowhere (a missing field), its nearest ancestor. */
function locateInDocument(document: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): Position | undefined {
  let node: unknown = document.contents;
  let range = isNode(node) ? node.range : undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      range = (isNode(pair.key) ? pair.key.range : undefined) ?? range;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      node = node.items[segment];
      range = (isNode(node) ? node.range : undefined) ?? range;
    } else {
      break;
    }
  }
  return range ? positionAt(lineCounter, range[0]) : undefined;
}

function jsonSyntaxError(text: string, source: string, error: unknown): PolicyError {
  const raw = error instanceof Error ? error.message : String(error);
  const offset = jsonErrorOffset(text, raw);
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  // Node appends the position (or a snippet of the text) to the message; the line and column replace both.
  const message = raw
    .replace(/ in JSON at position \d+.*$/s, "")
    .replace(/, .* is not valid JSON$/s, "")
    .replace(/\s*\(line \d+ column \d+\)$/, "");
  return new PolicyError(source, [{ path: "", message: `JSON syntax error: ${message}`, line, column }], { cause: error });
}

/**
 * Where JSON.parse gave up. Node reports a position for most errors but not for an unexpected token; then the
 * offending character is the one that turns the longest prefix that could still become valid JSON into one
 * that cannot, which a binary search over prefixes finds.
 */
function jsonErrorOffset(text: string, message: string): number {
  const reported = /at position (\d+)/.exec(message);
  if (reported) return Number(reported[1]);
  if (message.includes("Unexpected end of JSON input")) return text.length;
  let viable = 0;
  let broken = text.length;
  while (broken - viable > 1) {
    const middle = Math.floor((viable + broken) / 2);
    if (isViableJsonPrefix(text.slice(0, middle))) viable = middle;
    else broken = middle;
  }
  return broken - 1;
}

function isViableJsonPrefix(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : "";
    if (message.includes("Unexpected end of JSON input")) return true;
    const reported = /at position (\d+)/.exec(message);
    return reported ? Number(reported[1]) >= prefix.length : false;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
