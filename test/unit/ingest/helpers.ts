import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll } from "vitest";
import type { ChangeEvent, IngestResult } from "@hipaa-remediate/core";
import { cloudTrailRecord, type CloudTrailRecordInput } from "../../support/cloudtrail";

export async function collect(results: AsyncIterable<IngestResult>): Promise<IngestResult[]> {
  const all: IngestResult[] = [];
  for await (const result of results) all.push(result);
  return all;
}

export function kindsOf(results: readonly IngestResult[]): string[] {
  return results.map((r) => r.kind);
}

export function eventsOf(results: readonly IngestResult[]): ChangeEvent[] {
  return results.flatMap((r) => (r.kind === "event" ? [r.event] : []));
}

/** The event of a result that must be one; fails with the rejection reason otherwise. */
export function eventOf(result: IngestResult | undefined): ChangeEvent {
  if (result?.kind !== "event") throw new Error(`expected an event, got ${JSON.stringify(result)}`);
  return result.event;
}

export function reasonOf(result: IngestResult | undefined): string {
  if (result === undefined || result.kind === "event") throw new Error(`expected a rejection or an ignore, got ${JSON.stringify(result)}`);
  return result.reason;
}

/** A documented-shape record with a fixed id and time, so assertions can name them. */
export function fixedRecord(index: number, input: Partial<CloudTrailRecordInput> = {}): Record<string, unknown> {
  return cloudTrailRecord({
    eventSource: "s3.amazonaws.com",
    eventName: "PutBucketEncryption",
    requestParameters: { bucketName: `bucket-${index}` },
    eventID: `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`,
    eventTime: new Date(Date.UTC(2024, 0, 1, 0, 0, index)),
    ...input,
  });
}

/** A temporary folder removed after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ingest-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Serves `bytes` as a stream in chunks of the given sizes (cycled), to hit every chunk boundary. */
export function chunkedStream(bytes: Buffer, sizes: readonly number[]): Readable {
  return Readable.from(
    (function* () {
      let offset = 0;
      let turn = 0;
      while (offset < bytes.length) {
        const size = Math.max(1, sizes[turn++ % sizes.length] ?? 1);
        yield bytes.subarray(offset, offset + size);
        offset += size;
      }
    })(),
  );
}
