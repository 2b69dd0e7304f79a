import { joinPath } from "./ingest-result";

/**
 * How deep a parsed value may nest. Real CloudTrail records nest about a dozen levels; everything downstream
 * (canonical JSON for hashes, log entries, controls reading parameters) walks values recursively, so a value
 * nested thousands of levels deep would overflow the stack there. 64 leaves room for any real record.
 */
export const MAX_NESTING_DEPTH = 64;

/** A value the engine cannot carry, found at `segments` below the value that was checked. */
export interface ValueBeyondLimits {
  segments: (string | number)[];
  problem: "non-finite-number" | "too-deep";
}

interface Frame {
  value: object;
  depth: number;
  parent: Frame | undefined;
  segment: string | number;
}

function segmentsOf(frame: Frame | undefined, last?: string | number): (string | number)[] {
  const segments: (string | number)[] = last === undefined ? [] : [last];
  for (let at = frame; at?.parent !== undefined; at = at.parent) segments.push(at.segment);
  return segments.reverse();
}

/**
 * The first place in `root` where it holds a number JSON cannot carry as a finite value (`1e999` parses to
 * Infinity, which canonical JSON and hashes refuse) or nests deeper than `maxDepth`. Walks with an explicit
 * stack: a recursive walk would itself overflow on the values it looks for. Paths are built only on a find.
 */
export function findValueBeyondLimits(root: unknown, maxDepth = MAX_NESTING_DEPTH): ValueBeyondLimits | undefined {
  if (typeof root === "number") return Number.isFinite(root) ? undefined : { segments: [], problem: "non-finite-number" };
  if (typeof root !== "object" || root === null) return undefined;
  // Every record is checked, so the common case is a quick pass that allocates nothing per node; only a value
  // that fails it is walked again to build the path.
  if (withinLimits(root, maxDepth)) return undefined;
  const stack: Frame[] = [{ value: root, depth: 1, parent: undefined, segment: "" }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    if (frame.depth > maxDepth) return { segments: segmentsOf(frame), problem: "too-deep" };
    const found = Array.isArray(frame.value)
      ? visitElements(frame, frame.value, stack)
      : visitFields(frame, frame.value as Record<string, unknown>, stack);
    if (found) return found;
  }
  return undefined;
}

const pendingValues: object[] = [];
const pendingDepths: number[] = [];

/** True when no number in `root` is non-finite and nothing nests deeper than `maxDepth`. */
function withinLimits(root: object, maxDepth: number): boolean {
  pendingValues.length = 0;
  pendingDepths.length = 0;
  pendingValues.push(root);
  pendingDepths.push(1);
  for (;;) {
    const value = pendingValues.pop();
    const depth = pendingDepths.pop() ?? 0;
    if (value === undefined) return true;
    if (depth > maxDepth) return false;
    // Indexed for arrays: `for...in` over an array enumerates its indices as strings, several times slower.
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        if (!childWithinLimits(value[index], depth)) return false;
      }
    } else {
      const fields = value as Record<string, unknown>;
      for (const key in fields) {
        if (!childWithinLimits(fields[key], depth)) return false;
      }
    }
  }
}

/** False for a non-finite number; queues a container to be walked. */
function childWithinLimits(child: unknown, depth: number): boolean {
  if (typeof child === "number") return child - child === 0;
  if (typeof child === "object" && child !== null) {
    pendingValues.push(child);
    pendingDepths.push(depth + 1);
  }
  return true;
}

/** Checks one child: a bad number is a find, a container is queued. */
function visit(frame: Frame, child: unknown, segment: string | number, stack: Frame[]): ValueBeyondLimits | undefined {
  if (typeof child === "number") {
    if (!Number.isFinite(child)) return { segments: segmentsOf(frame, segment), problem: "non-finite-number" };
  } else if (typeof child === "object" && child !== null) {
    stack.push({ value: child, depth: frame.depth + 1, parent: frame, segment });
  }
  return undefined;
}

function visitElements(frame: Frame, elements: readonly unknown[], stack: Frame[]): ValueBeyondLimits | undefined {
  for (let index = 0; index < elements.length; index++) {
    const found = visit(frame, elements[index], index, stack);
    if (found) return found;
  }
  return undefined;
}

function visitFields(frame: Frame, fields: Record<string, unknown>, stack: Frame[]): ValueBeyondLimits | undefined {
  for (const key of Object.keys(fields)) {
    const found = visit(frame, fields[key], key, stack);
    if (found) return found;
  }
  return undefined;
}

const SHOWN_SEGMENTS = 6;
const SHOWN_KEY_LENGTH = 60;

/**
 * The path to a value beyond the limits, readable even when it is thousands of segments long or its keys are
 * huge: the first segments, then how many more. Keys are shortened, never quoted whole (they may hold PHI).
 */
export function limitPath(prefix: string, segments: readonly (string | number)[]): string {
  let path = prefix;
  for (const segment of segments.slice(0, SHOWN_SEGMENTS)) {
    const shown = typeof segment === "string" && segment.length > SHOWN_KEY_LENGTH ? `${segment.slice(0, SHOWN_KEY_LENGTH)}…` : segment;
    path = joinPath(path, shown);
  }
  const hidden = segments.length - SHOWN_SEGMENTS;
  return hidden > 0 ? `${path}…(${hidden} more levels)` : path;
}

/** Words for the problem, without the value. */
export function describeValueBeyondLimits(found: ValueBeyondLimits, maxDepth = MAX_NESTING_DEPTH): string {
  return found.problem === "non-finite-number"
    ? "a number too large for JSON to represent as a finite value (it reads as Infinity); write it as a string or a smaller number"
    : `nested deeper than ${maxDepth} levels of objects and arrays, more than any CloudTrail record holds`;
}
