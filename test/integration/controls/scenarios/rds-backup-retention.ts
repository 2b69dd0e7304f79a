import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { ControlScenario } from "../../../support/control-scenario";
import { COMPLIANT_DATABASE, createDbInstance, describeInstance, modifyInstance, rdsRecord } from "../../../support/rds";

/** Someone turned automated backups off on a PHI database: ModifyDBInstance backupRetentionPeriod 0. */
export const scenario: ControlScenario = {
  control: "rds-backup-retention",
  options: { minimumDays: 7 },

  async arrangeViolation(moto) {
    const id = `phi-backups-${randomUUID().slice(0, 8)}`;
    const resource = await createDbInstance(moto, id, { ...COMPLIANT_DATABASE, tags: { DataClassification: "PHI" } });
    await modifyInstance(moto, resource, { BackupRetentionPeriod: 0 });
    const record = rdsRecord(
      "ModifyDBInstance",
      { dBInstanceIdentifier: id, backupRetentionPeriod: 0, applyImmediately: true },
      { dBInstanceIdentifier: id, dBInstanceStatus: "modifying", backupRetentionPeriod: 0 },
    );
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect((await describeInstance(moto, resource)).BackupRetentionPeriod).toBe(7);
  },

  async assertUnchanged(moto, resource) {
    expect((await describeInstance(moto, resource)).BackupRetentionPeriod).toBe(0);
  },

  async makeCompliant(moto, resource) {
    await modifyInstance(moto, resource, { BackupRetentionPeriod: 14 });
  },
};
