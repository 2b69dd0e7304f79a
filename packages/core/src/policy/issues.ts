import { z } from "zod";
import { didYouMean } from "./suggest";

/** One problem in a policy file: the field path (`overrides[0].mode`), what was expected, and where, when known. */
export interface PolicyIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** An issue whose path is still a list of segments, before the loader looks up its position in the file. */
export interface RawPolicyIssue {
  path: PropertyKey[];
  message: string;
}

/** `overrides[0].match.tags["cost.center"]`: dots between keys, brackets for indices and for keys that need them. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else {
      const key = String(segment);
      text += /^[\w:@/+-]+$/.test(key) ? (text === "" ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
    }
  }
  return text;
}

/** How a YAML/JSON author would name the kind of a value. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "object":
      return "a mapping";
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "true/false";
    default:
      return typeof value;
  }
}

function expectedKind(expected: string): string {
  switch (expected) {
    case "object":
    case "record":
      return "a mapping";
    case "array":
    case "tuple":
      return "a list";
    case "int":
      return "a whole number";
    case "boolean":
      return "true or false";
    case "string":
    case "number":
      return `a ${expected}`;
    default:
      return expected;
  }
}

function describeValue(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function describeBound(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, bound: number | bigint, atLeast: boolean): string {
  const comparison = atLeast ? (issue.inclusive === false ? ">" : ">=") : issue.inclusive === false ? "<" : "<=";
  switch (issue.origin) {
    case "array":
    case "set":
      return `expected ${atLeast ? "at least" : "at most"} ${bound} item${bound === 1 ? "" : "s"}`;
    case "string":
      if (atLeast && bound === 1) return "must not be empty";
      return `expected ${atLeast ? "at least" : "at most"} ${bound} characters`;
    default:
      return `expected a number ${comparison} ${bound}`;
  }
}

/** The strict object at `path` inside `schema`, looking through optional, default and pipe wrappers. */
function objectKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.core.$ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, z.core.$ZodType | undefined>)[String(segment)];
    else if (current instanceof z.ZodArray) current = current.element;
    else if (current instanceof z.ZodRecord) current = current.valueType;
    else return [];
    if (current === undefined) return [];
    current = unwrap(current);
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault
    ) {
      current = current.unwrap();
    } else if (current instanceof z.ZodPipe) {
      current = current.in;
    } else {
      return current;
    }
  }
}

/**
 * Unknown keys name the key itself in the path and suggest the nearest valid key. Directly under `controls`
 * the keys are control ids, so the message says "unknown control".
 */
function describeUnknownKeys(issue: z.core.$ZodIssueUnrecognizedKeys, schema: z.core.$ZodType | undefined): RawPolicyIssue[] {
  const valid = schema ? objectKeysAt(schema, issue.path) : [];
  const noun = issue.path.length === 1 && issue.path[0] === "controls" ? "control" : "key";
  return issue.keys.map((key) => {
    const suggestion = didYouMean(key, valid);
    const listing = suggestion === "" && valid.length > 0 && valid.length <= 12 ? `; expected one of ${valid.join(", ")}` : "";
    return { path: [...issue.path, key], message: `unknown ${noun}${suggestion}${listing}` };
  });
}

function describeInvalidValue(issue: z.core.$ZodIssueInvalidValue): string {
  const options = issue.values.map(String);
  const expected = options.length === 1 ? `expected ${options[0]}` : `expected one of ${options.join(" | ")}`;
  if (!("input" in issue)) return expected;
  const suggestion = typeof issue.input === "string" ? didYouMean(issue.input, options) : "";
  return `${expected}, got ${describeValue(issue.input)}${suggestion}`;
}

function describeInvalidType(issue: z.core.$ZodIssueInvalidType): string {
  if (issue.input === undefined) return "required";
  const got = issue.expected === "int" && typeof issue.input === "number" ? String(issue.input) : kindOf(issue.input);
  // YAML reads 012345678901 and true as a number and a boolean; quoting is what the author has to do.
  const hint =
    issue.expected === "string" && (typeof issue.input === "number" || typeof issue.input === "boolean") ? " (put it in quotes)" : "";
  return `expected ${expectedKind(issue.expected)}, got ${got}${hint}`;
}

/**
 * Turns zod issues into messages a policy author can act on. Zod's own messages are kept only where the schema
 * wrote them (refinements and formats). Parse with `reportInput: true` so the offending values can be quoted.
 */
export function describeZodIssues(issues: readonly z.core.$ZodIssue[], schema?: z.core.$ZodType): RawPolicyIssue[] {
  return issues.flatMap((issue): RawPolicyIssue[] => {
    const path = [...issue.path];
    switch (issue.code) {
      case "unrecognized_keys":
        return describeUnknownKeys(issue, schema);
      case "invalid_type":
        return [{ path, message: describeInvalidType(issue) }];
      case "invalid_value":
        return [{ path, message: describeInvalidValue(issue) }];
      case "too_small":
        return [{ path, message: describeBound(issue, issue.minimum, true) }];
      case "too_big":
        return [{ path, message: describeBound(issue, issue.maximum, false) }];
      case "not_multiple_of":
        return [{ path, message: `expected a multiple of ${issue.divisor}` }];
      case "invalid_key":
        return describeZodIssues(issue.issues).map((inner) => ({ path, message: `invalid key: ${inner.message}` }));
      default:
        return [{ path, message: issue.message }];
    }
  });
}
