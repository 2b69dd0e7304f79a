import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { ControlScenario } from "../../../support/control-scenario";
import { COMPLIANT_DATABASE, createDbInstance, describeInstance, modifyInstance, rdsRecord } from "../../../support/rds";

/** A private PHI database made public: ModifyDBInstance publiclyAccessible true. */
export const scenario: ControlScenario = {
  control: "rds-instance-public",

  async arrangeViolation(moto) {
    const id = `phi-public-${randomUUID().slice(0, 8)}`;
    const resource = await createDbInstance(moto, id, { ...COMPLIANT_DATABASE, tags: { DataClassification: "PHI" } });
    await modifyInstance(moto, resource, { PubliclyAccessible: true });
    const record = rdsRecord(
      "ModifyDBInstance",
      { dBInstanceIdentifier: id, publiclyAccessible: true, applyImmediately: true },
      {
        dBInstanceIdentifier: id,
        dBInstanceStatus: "modifying",
        publiclyAccessible: true,
        pendingModifiedValues: { publiclyAccessible: true },
      },
    );
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect((await describeInstance(moto, resource)).PubliclyAccessible).toBe(false);
  },

  async assertUnchanged(moto, resource) {
    expect((await describeInstance(moto, resource)).PubliclyAccessible).toBe(true);
  },

  async makeCompliant(moto, resource) {
    await modifyInstance(moto, resource, { PubliclyAccessible: false });
  },
};
