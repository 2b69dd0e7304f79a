import type { z } from "zod";
import { atPath, joinPath } from "./ingest-result";

/** How JSON names the type of a value: `got number`, `got null`, `got an array`. Never the value itself (it may be PHI). */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return typeof value;
}

function expectedType(expected: string): string {
  switch (expected) {
    case "record":
    case "object":
      return "an object";
    case "array":
    case "tuple":
      return "an array";
    case "null":
    case "undefined":
      return expected;
    default:
      return `a ${expected}`;
  }
}

function gotPart(issue: z.core.$ZodIssue): string {
  return "input" in issue && issue.input !== undefined ? `got ${jsonTypeOf(issue.input)}` : "but it is missing";
}

/** The types a union accepts, read from each branch's own type issue. */
function unionExpectations(issue: z.core.$ZodIssueInvalidUnion): string[] {
  const expected = new Set<string>();
  for (const branch of issue.errors) {
    for (const inner of branch) {
      if (inner.code === "invalid_type" && inner.path.length === 0) expected.add(expectedType(inner.expected));
    }
  }
  return [...expected];
}

function describeOne(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${expectedType(issue.expected)}, ${gotPart(issue)}`;
    case "invalid_union": {
      const options = unionExpectations(issue);
      if (options.length === 0) return issue.message;
      return `expected ${options.join(" or ")}, ${gotPart(issue)}`;
    }
    case "invalid_value":
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}, ${gotPart(issue)}`;
    default:
      // Refinements carry messages written in this module's schemas.
      return issue.message;
  }
}

/**
 * Turns zod issues into one reason naming each field by its full path, e.g.
 * `Records[3].eventName: expected a string, got number`. Parse with `reportInput: true` so the type of the
 * offending value can be named.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: string): string {
  return issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path.reduce<string>(
        (base, segment) => joinPath(base, typeof segment === "number" ? segment : String(segment)),
        prefix,
      );
      return atPath(path, describeOne(issue));
    })
    .join("; ");
}
