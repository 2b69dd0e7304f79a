import { existsSync, readFileSync, readdirSync } from "node:fs";
import { extname, join, relative, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { isCloudTrailDetailType, readChangeEvents, type IngestResult } from "@hipaa-remediate/core";
import { collect } from "./helpers";

/*
 * Every file of the public CloudTrail corpus (../shared/corpus beside the repository; read, never copied)
 * goes through the reader. The corpus mixes real captures, other projects' fixtures, YAML test files, zip
 * archives and deliberately malformed JSON; none of it may make the reader throw.
 */
const repoRoot = resolve(import.meta.dirname, "../../..");
const corpusDir = resolve(repoRoot, "../shared/corpus");

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/**
 * Counts the records in a file without the reader: JSON.parse of the whole file, or of each line. Arrays and
 * `Records` lists hold one record per element; anything else is one record. Undefined when the file is not
 * JSON or JSON lines at all (the reader must then reject it).
 */
function countRecords(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, element) => sum + countRecords(element), 0);
  if (typeof value === "object" && value !== null && "Records" in value && Array.isArray(value.Records)) {
    return value.Records.reduce((sum: number, element) => sum + countRecords(element), 0);
  }
  return 1;
}

function independentCount(path: string): number | undefined {
  let bytes = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const text = bytes.toString("utf8");
  try {
    return countRecords(JSON.parse(text));
  } catch {
    let total = 0;
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        total += countRecords(JSON.parse(line));
      } catch {
        return undefined;
      }
    }
    return total;
  }
}

/** The detail-type of a file that is one EventBridge event, read without the reader. */
function detailTypeOf(path: string): string | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (typeof value === "object" && value !== null && "detail-type" in value && typeof value["detail-type"] === "string") {
      return value["detail-type"];
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function sourceOf(result: IngestResult): string {
  return result.kind === "event" ? result.event.origin : result.source;
}

describe("the public CloudTrail corpus", () => {
  it("is present beside the repository", () => {
    expect(existsSync(corpusDir), `expected the shared corpus at ${corpusDir} (../shared/corpus relative to the repository root)`).toBe(
      true,
    );
  });

  it("reads every file without throwing, one result per record, with reasons for everything not used", async () => {
    const files = filesUnder(corpusDir);
    expect(files.length).toBeGreaterThan(300);
    const problems: string[] = [];
    const totals = { event: 0, ignored: 0, rejected: 0 };

    for (const file of files) {
      const name = relative(corpusDir, file);
      let results: IngestResult[];
      try {
        results = await collect(readChangeEvents([file]));
      } catch (error) {
        problems.push(`${name}: threw ${String(error)}`);
        continue;
      }
      for (const result of results) {
        totals[result.kind]++;
        if (!sourceOf(result).startsWith(file)) problems.push(`${name}: result source ${sourceOf(result)} does not name the file`);
        if (result.kind !== "event" && result.reason.trim() === "") problems.push(`${name}: ${result.kind} without a reason`);
      }

      const expected = independentCount(file);
      if (expected !== undefined) {
        if (results.length !== expected) problems.push(`${name}: ${results.length} results for ${expected} records`);
      } else if (!results.some((r) => r.kind === "rejected")) {
        problems.push(`${name}: not JSON or JSON lines, yet nothing was rejected`);
      }

      if ([".yml", ".md", ".zip"].includes(extname(file)) && !results.every((r) => r.kind === "rejected")) {
        problems.push(`${name}: non-JSON content produced a result other than a rejection`);
      }
      const detailType = detailTypeOf(file);
      if (detailType !== undefined && !isCloudTrailDetailType(detailType) && detailType !== "...") {
        const [only] = results;
        if (results.length !== 1 || only?.kind !== "ignored" || !only.reason.includes(`"${detailType}"`)) {
          problems.push(`${name}: a "${detailType}" event was not ignored with a reason naming its detail-type`);
        }
      }
    }

    expect(problems).toEqual([]);
    // Real captures make up most of the corpus: most records must become events.
    expect(totals.event).toBeGreaterThan(1000);
    expect(totals.ignored).toBeGreaterThan(0);
    expect(totals.rejected).toBeGreaterThan(0);
  });
});
