import { CreateDetectorCommand, DeleteDetectorCommand, FindingPublishingFrequency, UpdateDetectorCommand } from "@aws-sdk/client-guardduty";
import { CATEGORIES } from "@hipaa-remediate/core";
import { z } from "zod";
import {
  GUARDDUTY_SOURCE,
  detectorStateFromEvent,
  detectorStateOf,
  detectorStateSchema,
  guardDutyRegionFromEvent,
  guardDutyRegions,
  listDetectors,
  type DetectorState,
} from "./lib/guardduty";
import { defineSettingControl } from "./lib/setting-control";

/** The value of the engine's tag on a detector it created, so rollback deletes that one and no other. */
const CREATED = "created";

const optionsSchema = z
  .strictObject({
    /** How often a detector the engine creates publishes updated findings to EventBridge. */
    findingPublishingFrequency: z.enum(FindingPublishingFrequency).default(FindingPublishingFrequency.SIX_HOURS),
  })
  .prefault({});

export type GuardDutyOptions = z.output<typeof optionsSchema>;

function describeDetector(state: DetectorState): string {
  switch (state.status) {
    case "enabled":
      return state.detectorId ? `on (detector ${state.detectorId})` : "on";
    case "disabled":
      // A redacted or empty detectorId in the record leaves the detector unnamed.
      return state.detectorId ? `off (detector ${state.detectorId} disabled)` : "off (detector disabled)";
    case "missing":
      return state.detectorId ? `off (detector ${state.detectorId} deleted)` : "off (no detector)";
  }
}

/**
 * GuardDuty stays on in every region: a disabled detector is enabled again; a deleted one is replaced by a new
 * detector with the policy's settings. Creating a detector starts GuardDuty billing, so this control proposes by
 * default (`defaultMode: approve`); a policy may set it to auto.
 */
export const control = defineSettingControl<GuardDutyOptions, DetectorState>({
  id: "guardduty-enabled",
  title: "GuardDuty stays enabled in every region",
  category: "risk-analysis",
  hipaa: {
    sections: [...CATEGORIES["risk-analysis"].hipaa],
    why: "GuardDuty continuously evaluates the account for threats to ePHI systems, part of the ongoing risk analysis and evaluation 164.308(a)(1)(ii)(A) and 164.308(a)(8) ask for; with it off, compromises go unnoticed.",
  },
  severity: "high",
  defaultMode: "approve",
  options: optionsSchema,
  triggers: [
    { source: GUARDDUTY_SOURCE, name: "DeleteDetector", resources: guardDutyRegionFromEvent },
    { source: GUARDDUTY_SOURCE, name: "UpdateDetector", resources: guardDutyRegionFromEvent },
  ],
  permissions: {
    detect: ["guardduty:ListDetectors", "guardduty:GetDetector"],
    // Tagging the created detector needs TagResource; GuardDuty's service-linked role already exists in an account
    // that had a detector, so CreateServiceLinkedRole is not asked for.
    apply: [
      "guardduty:ListDetectors",
      "guardduty:GetDetector",
      "guardduty:UpdateDetector",
      "guardduty:CreateDetector",
      "guardduty:TagResource",
    ],
    rollback: ["guardduty:ListDetectors", "guardduty:GetDetector", "guardduty:UpdateDetector", "guardduty:DeleteDetector"],
  },
  kind: guardDutyRegions,
  setting: detectorStateSchema,

  async read(ref, ctx) {
    return detectorStateOf(await listDetectors(await ctx.aws.guardDuty(ref.region)));
  },

  async write(ref, target, ctx) {
    const guardDuty = await ctx.aws.guardDuty(ref.region);
    const detectors = await listDetectors(guardDuty);
    const existing = detectors.find((detector) => detector.id === target.detectorId) ?? detectors[0];
    if (existing) {
      await guardDuty.send(new UpdateDetectorCommand({ DetectorId: existing.id, Enable: target.status === "enabled" }));
      return;
    }
    if (target.status !== "enabled") return;
    await guardDuty.send(
      new CreateDetectorCommand({
        Enable: true,
        FindingPublishingFrequency: ctx.options.findingPublishingFrequency,
        Tags: { [ctx.engine.tagKey]: CREATED },
      }),
    );
  },

  /** Puts back what was there: the detector disabled again, or, where there was none, no detector the engine made. */
  async restore(ref, before, ctx) {
    const guardDuty = await ctx.aws.guardDuty(ref.region);
    if (before.status === "missing") {
      for (const detector of await listDetectors(guardDuty)) {
        if (detector.tags[ctx.engine.tagKey] === CREATED) await guardDuty.send(new DeleteDetectorCommand({ DetectorId: detector.id }));
      }
      return;
    }
    if (before.detectorId) {
      await guardDuty.send(new UpdateDetectorCommand({ DetectorId: before.detectorId, Enable: before.status === "enabled" }));
    }
  },

  shortfall: (current) => (current.status === "enabled" ? undefined : `is ${describeDetector(current)}`),
  required: (current) => (current.status === "missing" ? { detectorId: null, status: "enabled" } : { ...current, status: "enabled" }),
  describe: describeDetector,
  summarise: (ref, required) =>
    required.detectorId
      ? `Enable GuardDuty detector ${required.detectorId} again in ${ref.region}.`
      : `Create a GuardDuty detector in ${ref.region}, enabled.`,
  notes: (ref, required, options) =>
    required.detectorId
      ? []
      : [
          `CreateDetector in ${ref.region} publishing findings every ${options.findingPublishingFrequency}, tagged as created by the engine; rollback deletes it. GuardDuty bills for the data it analyses from then on.`,
        ],
  fromEvent: (event) => detectorStateFromEvent(event),
});
