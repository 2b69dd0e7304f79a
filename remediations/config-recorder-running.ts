import {
  DeleteConfigurationRecorderCommand,
  PutConfigurationRecorderCommand,
  ResourceType,
  StartConfigurationRecorderCommand,
  StopConfigurationRecorderCommand,
  type ConfigServiceClient,
} from "@aws-sdk/client-config-service";
import { CATEGORIES } from "@hipaa-remediate/core";
import { z } from "zod";
import { hasErrorCode } from "./lib/aws-errors";
import {
  CONFIG_SOURCE,
  DeliveryChannelMissingError,
  configRegionFromEvent,
  configRegions,
  readRecorder,
  recorderStateFromEvent,
  recorderStateSchema,
  type RecorderState,
} from "./lib/config";
import { ResourceGoneError } from "./lib/errors";
import { defineSettingControl } from "./lib/setting-control";

const CONTROL_ID = "config-recorder-running";
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

const recreateSchema = z.strictObject({
  name: z.string().trim().min(1).max(256).default("default"),
  /** The role Config assumes to read resource configurations (for example the AWSServiceRoleForConfig role). */
  roleArn: z.string().trim().regex(ROLE_ARN, "roleArn must be an IAM role ARN: arn:aws:iam::<account>:role/<name>"),
  recordingGroup: z
    .strictObject({
      allSupported: z.boolean().default(true),
      includeGlobalResourceTypes: z.boolean().default(true),
      /** CloudFormation type names Config knows, e.g. AWS::EC2::Instance; checked when the policy loads. */
      resourceTypes: z.array(z.enum(ResourceType)).default([]),
    })
    .prefault({})
    .refine((group) => group.allSupported || group.resourceTypes.length > 0, {
      message: "recordingGroup.resourceTypes must list resource types when allSupported is false",
      path: ["resourceTypes"],
    }),
});

const optionsSchema = z
  .strictObject({
    /** How to recreate a deleted recorder. Without it, a deleted recorder is reported, not recreated. */
    recreate: recreateSchema.optional(),
  })
  .prefault({});

export type ConfigRecorderOptions = z.output<typeof optionsSchema>;

function describeRecorder(state: RecorderState): string {
  const name = state.recorderName ? `recorder ${state.recorderName}` : "recorder";
  switch (state.status) {
    case "recording":
      return `on (${name} recording)`;
    case "stopped":
      return `off (${name} stopped)`;
    case "missing":
      return state.recorderName ? `off (recorder ${state.recorderName} deleted)` : "off (no recorder)";
  }
}

async function startRecorder(config: ConfigServiceClient, name: string, region: string): Promise<void> {
  try {
    await config.send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: name }));
  } catch (error) {
    if (hasErrorCode(error, "NoAvailableDeliveryChannelException")) {
      throw new DeliveryChannelMissingError(
        `cannot start configuration recorder ${name} in ${region}: the region has no delivery channel; create one (PutDeliveryChannel) and retry`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Stops and deletes a recorder (Config refuses to delete one that records). */
async function removeRecorder(config: ConfigServiceClient, name: string): Promise<void> {
  await config.send(new StopConfigurationRecorderCommand({ ConfigurationRecorderName: name }));
  await config.send(new DeleteConfigurationRecorderCommand({ ConfigurationRecorderName: name }));
}

/**
 * AWS Config keeps recording in every region: a stopped recorder is started again; a deleted one is recreated
 * from the policy's settings (role and recording group, which the event does not carry), or reported when the
 * policy gives none. Recreating passes a role to Config, so the control proposes by default (`defaultMode: approve`).
 */
export const control = defineSettingControl<ConfigRecorderOptions, RecorderState>({
  id: CONTROL_ID,
  title: "AWS Config keeps recording in every region",
  category: "risk-analysis",
  hipaa: {
    sections: [...CATEGORIES["risk-analysis"].hipaa],
    why: "AWS Config's configuration history is the evidence for the ongoing risk analysis and evaluation of ePHI systems (164.308(a)(1)(ii)(A), 164.308(a)(8)); while it is stopped, changes leave no record.",
  },
  severity: "high",
  defaultMode: "approve",
  options: optionsSchema,
  triggers: [
    { source: CONFIG_SOURCE, name: "StopConfigurationRecorder", resources: configRegionFromEvent },
    { source: CONFIG_SOURCE, name: "DeleteConfigurationRecorder", resources: configRegionFromEvent },
  ],
  permissions: {
    detect: ["config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus"],
    apply: [
      "config:DescribeConfigurationRecorders",
      "config:DescribeConfigurationRecorderStatus",
      "config:StartConfigurationRecorder",
      "config:PutConfigurationRecorder",
      "iam:PassRole",
    ],
    rollback: [
      "config:DescribeConfigurationRecorders",
      "config:DescribeConfigurationRecorderStatus",
      "config:StopConfigurationRecorder",
      "config:DeleteConfigurationRecorder",
    ],
  },
  kind: configRegions,
  setting: recorderStateSchema,

  async read(ref, ctx) {
    return readRecorder(await ctx.aws.config(ref.region));
  },

  async write(ref, target, ctx) {
    const config = await ctx.aws.config(ref.region);
    const live = await readRecorder(config);
    let name = live.recorderName;
    if (!name) {
      // Only a target made from the policy's recreate settings may create a recorder.
      if (!target.recorderName || !target.roleArn || !target.recordingGroup) {
        throw new ResourceGoneError(`the configuration recorder in ${ref.region} no longer exists`);
      }
      await config.send(
        new PutConfigurationRecorderCommand({
          ConfigurationRecorder: { name: target.recorderName, roleARN: target.roleArn, recordingGroup: target.recordingGroup },
        }),
      );
      name = target.recorderName;
    }
    if (target.status === "recording") await startRecorder(config, name, ref.region);
    else await config.send(new StopConfigurationRecorderCommand({ ConfigurationRecorderName: name }));
  },

  /** Puts back what was there: the recorder stopped again, or, where there was none, no recorder of the recreate name. */
  async restore(ref, before, ctx) {
    const config = await ctx.aws.config(ref.region);
    if (before.status !== "missing") {
      const live = await readRecorder(config);
      if (!live.recorderName) throw new ResourceGoneError(`the configuration recorder in ${ref.region} no longer exists`);
      if (before.status === "recording") await startRecorder(config, live.recorderName, ref.region);
      else await config.send(new StopConfigurationRecorderCommand({ ConfigurationRecorderName: live.recorderName }));
      return;
    }
    const live = await readRecorder(config);
    if (live.recorderName && live.recorderName === ctx.options.recreate?.name) await removeRecorder(config, live.recorderName);
  },

  shortfall: (current) => (current.status === "recording" ? undefined : `is ${describeRecorder(current)}`),
  required(current, options) {
    if (current.status !== "missing") return { ...current, status: "recording" };
    const settings = options.recreate;
    if (!settings) return current;
    return { recorderName: settings.name, status: "recording", roleArn: settings.roleArn, recordingGroup: settings.recordingGroup };
  },
  describe: describeRecorder,
  summarise: (ref, required) =>
    required.roleArn
      ? `Recreate configuration recorder ${required.recorderName ?? "default"} in ${ref.region} and start it.`
      : `Start the configuration recorder in ${ref.region} again.`,
  notes: (ref, required) =>
    required.roleArn
      ? [
          `PutConfigurationRecorder ${required.recorderName ?? "default"} in ${ref.region} with role ${required.roleArn}${
            required.recordingGroup?.allSupported ? ", recording all supported resource types" : ""
          }, then StartConfigurationRecorder. The region's delivery channel must still exist. Rollback stops and deletes it.`,
        ]
      : [],
  notifyOnly: (ref, required) =>
    required.status === "recording"
      ? undefined
      : `The configuration recorder in ${ref.region} was deleted and the policy gives no settings to recreate it: recreate it by hand (PutConfigurationRecorder with a role and a recording group, then StartConfigurationRecorder), or add them to controls.${CONTROL_ID}.options.recreate.`,
  fromEvent: (event) => recorderStateFromEvent(event),
});
