import { CreateBucketCommand, PutBucketTaggingCommand, type S3Client } from "@aws-sdk/client-s3";
import type { AnyControl, ChangeEvent, Control, JsonObject, LiveContext, ResourceRef, Trigger } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { bucketRef } from "../../remediations/lib/arn";
import { cloudTrailRecord } from "./cloudtrail";
import { changeEventOf } from "./control-harness";
import type { ControlScenario } from "./control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "./moto";

/** Helpers the bucket controls' tests and scenarios share. */

export const PHI_TAGS = [{ Key: "DataClassification", Value: "PHI" }];

/** A CloudTrail record of an S3 call, as the engine's own normaliser turns it into a ChangeEvent. */
export function s3Event(name: string, request: JsonObject | null, source = "s3.amazonaws.com"): ChangeEvent {
  return changeEventOf(cloudTrailRecord({ eventSource: source, eventName: name, requestParameters: request }));
}

/** The S3 call's record as CloudTrail writes it (for scenarios). */
export function s3Record(name: string, bucket: string, extra: JsonObject = {}): Record<string, unknown> {
  return cloudTrailRecord({
    eventSource: "s3.amazonaws.com",
    eventName: name,
    requestParameters: { bucketName: bucket, Host: `${bucket}.s3.amazonaws.com`, ...extra },
  });
}

export function triggerOf<O>(control: Control<O, JsonObject> | AnyControl, name: string): Trigger {
  const trigger = control.triggers.find((t) => t.name === name);
  if (!trigger) throw new Error(`${control.id} has no trigger ${name}`);
  return trigger;
}

/** Creates a bucket in moto, tagged when `tags` are given, and returns its ref. */
export async function createTestBucket(s3: S3Client, name: string, tags: { Key: string; Value: string }[] = []): Promise<ResourceRef> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  if (tags.length > 0) await s3.send(new PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: tags } }));
  return bucketRef(name, MOTO_ACCOUNT, MOTO_REGION);
}

/** The ids of the resources a control's sweep finds in violation, with `ctx` (a fresh unit of work per call). */
export async function sweepViolations<O>(control: Control<O, JsonObject>, ctx: LiveContext<O>): Promise<string[]> {
  const found: string[] = [];
  for await (const ref of control.sweep(ctx)) {
    for (const verdict of await control.detect({ resource: ref }, ctx)) if (verdict.kind === "violation") found.push(ref.id);
  }
  return found;
}

/**
 * The scenario's round trip through the control alone: its record names the arranged resource, the control finds
 * it, the fix satisfies assertFixed, and after makeCompliant a new unit of work finds nothing to do.
 */
export async function checkScenarioRoundTrip<O>(
  moto: Moto,
  control: Control<O, JsonObject>,
  scenario: ControlScenario,
  triggerName: string,
  context: () => LiveContext<O>,
): Promise<void> {
  const { record, resource } = await scenario.arrangeViolation(moto);
  await scenario.assertUnchanged(moto, resource);
  const event = changeEventOf(record);
  expect(triggerOf(control, triggerName).resources(event)).toEqual([resource]);
  const ctx = context();
  const verdicts = await control.detect({ resource, event }, ctx);
  const [verdict] = verdicts;
  if (verdicts.length !== 1 || verdict?.kind !== "violation") throw new Error(`expected one violation, got ${JSON.stringify(verdicts)}`);
  await control.apply(control.plan(verdict.finding, ctx.options), ctx);
  await scenario.assertFixed(moto, resource);
  await scenario.makeCompliant(moto, resource);
  expect(await control.detect({ resource, event }, context())).toMatchObject([{ kind: "no-longer-applies" }]);
}
