import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { ControlScenario } from "../../../support/control-scenario";
import { COMPLIANT_DATABASE, createDbInstance, describeInstance, modifyInstance, rdsRecord } from "../../../support/rds";

/** A PHI database moved to a single Availability Zone: ModifyDBInstance multiAZ false. */
export const scenario: ControlScenario = {
  control: "rds-multi-az",

  async arrangeViolation(moto) {
    const id = `phi-maz-${randomUUID().slice(0, 8)}`;
    const resource = await createDbInstance(moto, id, { ...COMPLIANT_DATABASE, tags: { DataClassification: "PHI" } });
    await modifyInstance(moto, resource, { MultiAZ: false });
    const record = rdsRecord(
      "ModifyDBInstance",
      { dBInstanceIdentifier: id, multiAZ: false, applyImmediately: true },
      { dBInstanceIdentifier: id, dBInstanceStatus: "modifying", multiAZ: false },
    );
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect((await describeInstance(moto, resource)).MultiAZ).toBe(true);
  },

  async assertUnchanged(moto, resource) {
    expect((await describeInstance(moto, resource)).MultiAZ).toBe(false);
  },

  async makeCompliant(moto, resource) {
    await modifyInstance(moto, resource, { MultiAZ: true });
  },
};
