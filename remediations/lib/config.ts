import {
  DescribeConfigurationRecordersCommand,
  DescribeConfigurationRecorderStatusCommand,
  ResourceType,
  type ConfigServiceClient,
} from "@aws-sdk/client-config-service";
import type { ChangeEvent, ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { accountSettingKind, accountSettingRef, type AccountSetting } from "./account-setting-kind";
import { stringOf } from "./json-fields";

/**
 * AWS Config, per region: whether the region's configuration recorder exists and records. A region has one
 * customer-managed recorder; service-linked recorders (those with a service principal) belong to other services
 * and are not counted.
 */

export const CONFIG_SOURCE = "config.amazonaws.com";

export const CONFIG_RECORDING_IN_REGION: AccountSetting = {
  type: "AWS::Config::ConfigurationRecorder",
  noun: "AWS Config recording in",
  arn: (account, region) => `arn:aws:config:${region}:${account}:configuration-recorder`,
};

export const configRegions = accountSettingKind(CONFIG_RECORDING_IN_REGION);

export const recordingGroupSchema = z.object({
  allSupported: z.boolean(),
  includeGlobalResourceTypes: z.boolean(),
  resourceTypes: z.array(z.enum(ResourceType)),
});

export type RecordingGroupSetting = z.output<typeof recordingGroupSchema>;

/**
 * The region's recorder and whether it records. `roleArn` and `recordingGroup` are set only in a target built from
 * the policy's settings for recreating a deleted recorder; a live read leaves them null (they are not judged).
 */
export const recorderStateSchema = z.object({
  recorderName: z.string().min(1).nullable(),
  status: z.enum(["recording", "stopped", "missing"]),
  roleArn: z.string().min(1).nullable(),
  recordingGroup: recordingGroupSchema.nullable(),
});

export type RecorderState = z.output<typeof recorderStateSchema>;

/** The region's customer-managed recorder and whether it records; "missing" when there is none. */
export async function readRecorder(config: ConfigServiceClient): Promise<RecorderState> {
  const { ConfigurationRecorders: recorders = [] } = await config.send(new DescribeConfigurationRecordersCommand({}));
  const recorder = recorders.find((candidate) => candidate.name && !candidate.servicePrincipal);
  if (!recorder?.name) return { recorderName: null, status: "missing", roleArn: null, recordingGroup: null };
  const { ConfigurationRecordersStatus: statuses = [] } = await config.send(
    new DescribeConfigurationRecorderStatusCommand({ ConfigurationRecorderNames: [recorder.name] }),
  );
  const recording = statuses.find((status) => status.name === recorder.name)?.recording === true;
  return { recorderName: recorder.name, status: recording ? "recording" : "stopped", roleArn: null, recordingGroup: null };
}

/** StopConfigurationRecorder and DeleteConfigurationRecorder change the recording of the region they were called in. */
export function configRegionFromEvent(event: ChangeEvent): ResourceRef[] {
  return [accountSettingRef(CONFIG_RECORDING_IN_REGION, event.account, event.region)];
}

/** What a Stop or DeleteConfigurationRecorder record says: `requestParameters.configurationRecorderName` (may be redacted). */
export function recorderStateFromEvent(event: ChangeEvent): RecorderState | undefined {
  const recorderName = stringOf(event.request?.configurationRecorderName) ?? null;
  if (event.name === "StopConfigurationRecorder") return { recorderName, status: "stopped", roleArn: null, recordingGroup: null };
  if (event.name === "DeleteConfigurationRecorder") return { recorderName, status: "missing", roleArn: null, recordingGroup: null };
  return undefined;
}

/** Config refuses to start a recorder while the region has no delivery channel; the message says what to create. */
export class DeliveryChannelMissingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DeliveryChannelMissingError";
  }
}
