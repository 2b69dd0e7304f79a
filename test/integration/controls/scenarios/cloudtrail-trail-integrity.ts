import { CreateTrailCommand, GetTrailStatusCommand, StartLoggingCommand, StopLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import type { ResourceRef } from "@hipaa-remediate/core";
import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "../../../support/moto";

export function trailRefOf(name: string, region = MOTO_REGION, account = MOTO_ACCOUNT): ResourceRef {
  return { type: "AWS::CloudTrail::Trail", id: name, arn: `arn:aws:cloudtrail:${region}:${account}:trail/${name}`, account, region };
}

/** A bucket for trails to deliver to; the emulator checks it exists, not its policy. */
export async function trailBucket(moto: Moto, region = MOTO_REGION): Promise<string> {
  const bucket = `trail-logs-${randomUUID().slice(0, 8)}`;
  await (await moto.clients.s3(region)).send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** A logging, validated, multi-region trail with a unique name, as a compliant account has it. */
export async function makeTrail(moto: Moto, prefix: string, region = MOTO_REGION): Promise<ResourceRef> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  const cloudTrail = await moto.clients.cloudTrail(region);
  await cloudTrail.send(
    new CreateTrailCommand({
      Name: name,
      S3BucketName: await trailBucket(moto, region),
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      EnableLogFileValidation: true,
    }),
  );
  await cloudTrail.send(new StartLoggingCommand({ Name: name }));
  return trailRefOf(name, region);
}

export async function isLogging(moto: Moto, trail: ResourceRef): Promise<boolean> {
  const cloudTrail = await moto.clients.cloudTrail(trail.region);
  const status = await cloudTrail.send(new GetTrailStatusCommand({ Name: trail.arn }));
  return status.IsLogging === true;
}

/** Someone stopped a trail (StopLogging naming it by ARN, as real records do): the engine's own eyes close. */
export const scenario: ControlScenario = {
  control: "cloudtrail-trail-integrity",

  async arrangeViolation(moto) {
    const resource = await makeTrail(moto, "e2e-trail");
    await (await moto.clients.cloudTrail(resource.region)).send(new StopLoggingCommand({ Name: resource.id }));
    const record = cloudTrailRecord({
      eventSource: "cloudtrail.amazonaws.com",
      eventName: "StopLogging",
      requestParameters: { name: resource.arn },
      responseElements: null,
    });
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect(await isLogging(moto, resource)).toBe(true);
  },

  async assertUnchanged(moto, resource) {
    expect(await isLogging(moto, resource)).toBe(false);
  },

  async makeCompliant(moto, resource) {
    await (await moto.clients.cloudTrail(resource.region)).send(new StartLoggingCommand({ Name: resource.id }));
  },
};
