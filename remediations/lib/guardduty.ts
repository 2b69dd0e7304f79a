import { GetDetectorCommand, ListDetectorsCommand, type GuardDutyClient } from "@aws-sdk/client-guardduty";
import type { ChangeEvent, ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { accountSettingKind, accountSettingRef, type AccountSetting } from "./account-setting-kind";
import { booleanOf, stringOf } from "./json-fields";

/**
 * GuardDuty, per region: whether a detector is watching. A region has at most one detector in AWS (the emulator
 * allows several); the region's GuardDuty is on while one of them is enabled.
 */

export const GUARDDUTY_SOURCE = "guardduty.amazonaws.com";

export const GUARDDUTY_IN_REGION: AccountSetting = {
  type: "AWS::GuardDuty::Detector",
  noun: "GuardDuty in",
  arn: (account, region) => `arn:aws:guardduty:${region}:${account}:detector`,
};

export const guardDutyRegions = accountSettingKind(GUARDDUTY_IN_REGION);

/** The region's GuardDuty: the detector that decides it (an enabled one first) and its state. */
export const detectorStateSchema = z.object({
  detectorId: z.string().min(1).nullable(),
  status: z.enum(["enabled", "disabled", "missing"]),
});

export type DetectorState = z.output<typeof detectorStateSchema>;

export const NO_DETECTOR: DetectorState = { detectorId: null, status: "missing" };

/** A detector as the controls see it: its id, whether it runs, and its tags (to recognise the engine's own). */
export interface Detector {
  id: string;
  enabled: boolean;
  tags: Record<string, string>;
}

/** Every detector in the client's region. The emulator does not page ListDetectors; AWS returns at most one. */
export async function listDetectors(guardDuty: GuardDutyClient): Promise<Detector[]> {
  const { DetectorIds: ids = [] } = await guardDuty.send(new ListDetectorsCommand({}));
  const detectors: Detector[] = [];
  for (const id of ids) {
    const detector = await guardDuty.send(new GetDetectorCommand({ DetectorId: id }));
    detectors.push({ id, enabled: detector.Status === "ENABLED", tags: detector.Tags ?? {} });
  }
  return detectors;
}

export function detectorStateOf(detectors: readonly Detector[]): DetectorState {
  const deciding = detectors.find((detector) => detector.enabled) ?? detectors[0];
  if (!deciding) return NO_DETECTOR;
  return { detectorId: deciding.id, status: deciding.enabled ? "enabled" : "disabled" };
}

/** DeleteDetector and UpdateDetector change the GuardDuty of the region they were called in. */
export function guardDutyRegionFromEvent(event: ChangeEvent): ResourceRef[] {
  return [accountSettingRef(GUARDDUTY_IN_REGION, event.account, event.region)];
}

/**
 * What a DeleteDetector or UpdateDetector record says about the region's GuardDuty: `requestParameters.detectorId`
 * (sometimes "" or redacted) and, for UpdateDetector, `enable`. Undefined when the record does not say (an update
 * of the publishing frequency only).
 */
export function detectorStateFromEvent(event: ChangeEvent): DetectorState | undefined {
  const detectorId = stringOf(event.request?.detectorId) ?? null;
  if (event.name === "DeleteDetector") return { detectorId, status: "missing" };
  if (event.name === "UpdateDetector") {
    const enable = booleanOf(event.request?.enable);
    if (enable === undefined) return undefined;
    return { detectorId, status: enable ? "enabled" : "disabled" };
  }
  return undefined;
}
