import { CreateDetectorCommand, DeleteDetectorCommand, UpdateDetectorCommand } from "@aws-sdk/client-guardduty";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { listDetectors, type Detector } from "../../../../remediations/lib/guardduty";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "../../../support/moto";

export function guardDutyRef(region = MOTO_REGION, account = MOTO_ACCOUNT): ResourceRef {
  return { type: "AWS::GuardDuty::Detector", id: region, arn: `arn:aws:guardduty:${region}:${account}:detector`, account, region };
}

export async function detectorsIn(moto: Moto, region = MOTO_REGION): Promise<Detector[]> {
  return listDetectors(await moto.clients.guardDuty(region));
}

/** Deletes every detector in the region: the region's GuardDuty is shared by every test that runs there. */
export async function clearDetectors(moto: Moto, region = MOTO_REGION): Promise<void> {
  const guardDuty = await moto.clients.guardDuty(region);
  for (const detector of await listDetectors(guardDuty)) await guardDuty.send(new DeleteDetectorCommand({ DetectorId: detector.id }));
}

/** A region whose only detector exists but is disabled. */
export async function disabledDetector(moto: Moto, region = MOTO_REGION): Promise<string> {
  await clearDetectors(moto, region);
  const guardDuty = await moto.clients.guardDuty(region);
  const { DetectorId: id } = await guardDuty.send(new CreateDetectorCommand({ Enable: true }));
  if (!id) throw new Error("CreateDetector returned no DetectorId");
  await guardDuty.send(new UpdateDetectorCommand({ DetectorId: id, Enable: false }));
  return id;
}

/** Someone disabled the region's GuardDuty detector: UpdateDetector with enable false. */
export const scenario: ControlScenario = {
  control: "guardduty-enabled",

  async arrangeViolation(moto) {
    const detectorId = await disabledDetector(moto);
    const record = cloudTrailRecord({
      eventSource: "guardduty.amazonaws.com",
      eventName: "UpdateDetector",
      requestParameters: { detectorId, enable: false },
      responseElements: null,
    });
    return { record, resource: guardDutyRef() };
  },

  async assertFixed(moto, resource) {
    expect((await detectorsIn(moto, resource.region)).some((detector) => detector.enabled)).toBe(true);
  },

  async assertUnchanged(moto, resource) {
    // The arranged region has exactly one detector, disabled, and nothing the engine created.
    expect((await detectorsIn(moto, resource.region)).map(({ enabled, tags }) => ({ enabled, tags }))).toEqual([
      { enabled: false, tags: {} },
    ]);
  },

  async makeCompliant(moto, resource) {
    const guardDuty = await moto.clients.guardDuty(resource.region);
    for (const detector of await listDetectors(guardDuty)) {
      await guardDuty.send(new UpdateDetectorCommand({ DetectorId: detector.id, Enable: true }));
    }
  },
};
