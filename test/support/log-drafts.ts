import type { LogDraft, LogEntry, LogStore } from "@hipaa-remediate/core";

/**
 * A realistic log draft: a proposal for a bucket without default encryption, decided by a Slack approver.
 * `n` varies the event, the time and the reason so entries are distinguishable.
 */
export function sampleLogDraft(n: number, overrides: Partial<LogDraft> = {}): LogDraft {
  const bucket = `phi-records-${n % 7}`;
  return {
    stage: "proposed",
    at: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
    eventId: `event-${n}`,
    actor: "arn:aws:iam::123456789012:user/alice",
    resource: {
      arn: `arn:aws:s3:::${bucket}`,
      type: "AWS::S3::Bucket",
      id: bucket,
      account: "123456789012",
      region: "us-east-1",
    },
    control: "s3-default-encryption",
    hipaa: ["164.312(a)(2)(iv)"],
    mode: "approve",
    decidedBy: { id: "U024BE7LH", name: "Dana Auditor", via: "slack" },
    reason: `policy says approve for Environment=prod (#${n})`,
    planHash: "a".repeat(64),
    before: { ServerSideEncryptionConfiguration: null, Versioning: "Enabled" },
    after: { ServerSideEncryptionConfiguration: { Rules: [{ SSEAlgorithm: "aws:kms" }] } },
    ...overrides,
  };
}

export async function collect(entries: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const all: LogEntry[] = [];
  for await (const entry of entries) all.push(entry);
  return all;
}

/** Appends `count` sample drafts one after another. */
export async function appendSamples(store: LogStore, count: number, first = 1): Promise<LogEntry[]> {
  const appended: LogEntry[] = [];
  for (let n = first; n < first + count; n += 1) appended.push(await store.append(sampleLogDraft(n)));
  return appended;
}
