import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { ControlScenario } from "../../../support/control-scenario";
import { COMPLIANT_DATABASE, createDbInstance, describeInstance, modifyInstance, rdsRecord } from "../../../support/rds";

/** Someone turned deletion protection off on a protected PHI database: ModifyDBInstance deletionProtection false. */
export const scenario: ControlScenario = {
  control: "rds-deletion-protection",

  async arrangeViolation(moto) {
    const id = `phi-db-${randomUUID().slice(0, 8)}`;
    const resource = await createDbInstance(moto, id, { ...COMPLIANT_DATABASE, tags: { DataClassification: "PHI" } });
    await modifyInstance(moto, resource, { DeletionProtection: false });
    const record = rdsRecord(
      "ModifyDBInstance",
      { dBInstanceIdentifier: id, deletionProtection: false, applyImmediately: true },
      { dBInstanceIdentifier: id, dBInstanceStatus: "available", deletionProtection: false },
    );
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect((await describeInstance(moto, resource)).DeletionProtection).toBe(true);
  },

  async assertUnchanged(moto, resource) {
    const instance = await describeInstance(moto, resource);
    expect(instance.DeletionProtection).toBe(false);
    expect(instance.TagList).toEqual([{ Key: "DataClassification", Value: "PHI" }]);
  },

  async makeCompliant(moto, resource) {
    await modifyInstance(moto, resource, { DeletionProtection: true });
  },
};
