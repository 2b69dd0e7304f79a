import {
  DescribeDeliveryChannelsCommand,
  PutConfigurationRecorderCommand,
  PutDeliveryChannelCommand,
  StartConfigurationRecorderCommand,
  StopConfigurationRecorderCommand,
} from "@aws-sdk/client-config-service";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import type { ResourceRef } from "@hipaa-remediate/core";
import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import { readRecorder, type RecorderState } from "../../../../remediations/lib/config";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "../../../support/moto";

export const RECORDER = "default";
export const CONFIG_ROLE = `arn:aws:iam::${MOTO_ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig`;

export function configRef(region = MOTO_REGION, account = MOTO_ACCOUNT): ResourceRef {
  return {
    type: "AWS::Config::ConfigurationRecorder",
    id: region,
    arn: `arn:aws:config:${region}:${account}:configuration-recorder`,
    account,
    region,
  };
}

export async function recorderIn(moto: Moto, region = MOTO_REGION): Promise<RecorderState> {
  return readRecorder(await moto.clients.config(region));
}

/**
 * A region whose recorder exists with a delivery channel and records: the region is shared by every test that
 * runs there, so this brings it to that state whatever an earlier test left.
 */
export async function recordingRegion(moto: Moto, region = MOTO_REGION): Promise<void> {
  const config = await moto.clients.config(region);
  await config.send(
    new PutConfigurationRecorderCommand({
      ConfigurationRecorder: {
        name: RECORDER,
        roleARN: CONFIG_ROLE,
        recordingGroup: { allSupported: true, includeGlobalResourceTypes: true },
      },
    }),
  );
  const { DeliveryChannels: channels = [] } = await config.send(new DescribeDeliveryChannelsCommand({}));
  if (channels.length === 0) {
    const bucket = `config-${randomUUID().slice(0, 8)}`;
    await (await moto.clients.s3(region)).send(new CreateBucketCommand({ Bucket: bucket }));
    await config.send(new PutDeliveryChannelCommand({ DeliveryChannel: { name: "default", s3BucketName: bucket } }));
  }
  await config.send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: RECORDER }));
}

export async function stoppedRegion(moto: Moto, region = MOTO_REGION): Promise<void> {
  await recordingRegion(moto, region);
  await (await moto.clients.config(region)).send(new StopConfigurationRecorderCommand({ ConfigurationRecorderName: RECORDER }));
}

/** Someone stopped the region's configuration recorder. */
export const scenario: ControlScenario = {
  control: "config-recorder-running",

  async arrangeViolation(moto) {
    await stoppedRegion(moto);
    const record = cloudTrailRecord({
      eventSource: "config.amazonaws.com",
      eventName: "StopConfigurationRecorder",
      requestParameters: { configurationRecorderName: RECORDER },
      responseElements: null,
    });
    return { record, resource: configRef() };
  },

  async assertFixed(moto, resource) {
    expect(await recorderIn(moto, resource.region)).toMatchObject({ recorderName: RECORDER, status: "recording" });
  },

  async assertUnchanged(moto, resource) {
    expect(await recorderIn(moto, resource.region)).toMatchObject({ recorderName: RECORDER, status: "stopped" });
  },

  async makeCompliant(moto, resource) {
    await (await moto.clients.config(resource.region)).send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: RECORDER }));
  },
};
