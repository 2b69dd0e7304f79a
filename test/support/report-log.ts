import type { AnyControl, Decider, DecisionMode, LogDraft, LogStore, Stage } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";

/** A registered control by id; throws when the registry does not have it, so a renamed control fails loudly. */
export function registeredControl(id: string): AnyControl {
  const control = controls.find((c) => c.id === id);
  if (!control) throw new Error(`no registered control ${id}`);
  return control;
}

export type Step = Omit<Partial<LogDraft>, "stage" | "at"> & { stage: Stage; at: string };

export interface FindingStory {
  control: AnyControl;
  /** Bucket name (or any id); the ARN is built from it. */
  bucket: string;
  /** Absent for a sweep finding. */
  event?: { id: string; time: string; receivedAt: string };
  detectedAt: string;
  mode: DecisionMode;
  then?: Step[];
}

/** The drafts the engine writes for one finding, in order, as process-event and the approval flow write them. */
export function storyDrafts(story: FindingStory): LogDraft[] {
  const arn = `arn:aws:s3:::${story.bucket}`;
  const common = {
    ...(story.event ? { eventId: story.event.id, actor: "arn:aws:iam::123456789012:user/alice" } : {}),
    resource: { arn, type: "AWS::S3::Bucket", id: story.bucket, account: "123456789012", region: "us-east-1" },
    control: story.control.id,
    hipaa: story.control.hipaa.sections,
  };
  const drafts: LogDraft[] = [];
  if (story.event) {
    drafts.push({
      stage: "received",
      at: story.event.receivedAt,
      eventId: story.event.id,
      actor: common.actor,
      source: "test",
      details: { eventSource: "s3.amazonaws.com", eventName: "DeleteBucketEncryption", eventTime: story.event.time },
    });
  }
  drafts.push({ ...common, stage: "finding", at: story.detectedAt, reason: `Bucket ${story.bucket} breaks ${story.control.id}` });
  drafts.push({ ...common, stage: "decision", at: story.detectedAt, mode: story.mode, reason: `policy says ${story.mode}` });
  for (const step of story.then ?? []) drafts.push({ ...common, ...step });
  return drafts;
}

export async function appendAll(log: LogStore, drafts: readonly LogDraft[]): Promise<void> {
  for (const draft of drafts) await log.append(draft);
}

export const DANA: Decider = { id: "U024BE7LH", name: "Dana Approver", via: "slack" };
export const SAM: Decider = { id: "sam", name: "Sam Ops", via: "web" };

const MINUTE = 60_000;

/**
 * `count` findings spread evenly over `weeks` weeks before `end`, cycling through every way a finding ends, with
 * times to remediate from seconds to days. Deterministic, so figures derived from it are stable.
 */
export function syntheticStories(count: number, options: { end: Date; weeks: number; controls: readonly AnyControl[] }): FindingStory[] {
  const span = options.weeks * 7 * 24 * 60 * MINUTE;
  const start = options.end.getTime() - span;
  const stories: FindingStory[] = [];
  for (let i = 0; i < count; i += 1) {
    const control = options.controls[i % options.controls.length];
    if (!control) throw new Error("syntheticStories needs at least one control");
    const changed = start + Math.floor((i / count) * span);
    const iso = (offsetMs: number) => new Date(changed + offsetMs).toISOString();
    const fixMs = [20_000, 3 * MINUTE, 40 * MINUTE, 5 * 60 * MINUTE, 30 * 60 * MINUTE][i % 5] ?? MINUTE;
    const proposalId = `proposal-${i}`;
    const kind = i % 9;
    const then: Step[] =
      kind <= 2
        ? [
            { stage: "applied", at: iso(fixMs - 5_000) },
            { stage: "verified", at: iso(fixMs) },
          ]
        : kind === 3
          ? [
              { stage: "proposed", at: iso(2_000), proposalId },
              { stage: "approved", at: iso(fixMs - 10_000), proposalId, decidedBy: DANA },
              { stage: "applied", at: iso(fixMs - 5_000), proposalId, decidedBy: DANA },
              { stage: "verified", at: iso(fixMs), proposalId, decidedBy: DANA },
            ]
          : kind === 4
            ? [
                { stage: "proposed", at: iso(2_000), proposalId },
                { stage: "rejected-by-approver", at: iso(MINUTE), proposalId, decidedBy: SAM, reason: "maintenance window" },
              ]
            : kind === 5
              ? [
                  {
                    stage: "exempted",
                    at: iso(1_000),
                    reason: "exempt",
                    details: {
                      exemption: {
                        source: "tag",
                        reason: "vendor appliance",
                        owner: "alice@example.com",
                        expires: iso(40 * 24 * 60 * MINUTE),
                      },
                    },
                  },
                ]
              : kind === 6
                ? [{ stage: "no-longer-applies", at: iso(3_000), reason: "resource is compliant now" }]
                : kind === 7
                  ? [
                      {
                        stage: "failed",
                        at: iso(4_000),
                        reason: "apply failed",
                        error: { name: "AccessDenied", message: "not authorised" },
                      },
                    ]
                  : [{ stage: "would-remediate", at: iso(1_000) }];
    const mode = kind <= 2 || kind >= 6 ? (kind === 8 ? "dry-run" : "auto") : kind === 5 ? "exempt" : "approve";
    stories.push({
      control,
      bucket: `phi-bucket-${i}`,
      event: { id: `event-${i}`, time: iso(0), receivedAt: iso(500) },
      detectedAt: iso(1_000),
      mode,
      then,
    });
  }
  return stories;
}
