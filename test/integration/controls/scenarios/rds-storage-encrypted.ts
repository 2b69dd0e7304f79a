import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { ControlScenario } from "../../../support/control-scenario";
import { COMPLIANT_DATABASE, createDbInstance, deleteInstance, describeInstance, rdsRecord } from "../../../support/rds";

/** A PHI database created without encrypted storage: CreateDBInstance, storageEncrypted false in the response. */
export const scenario: ControlScenario = {
  control: "rds-storage-encrypted",
  notifyOnly: "RDS cannot encrypt an existing database in place: the plan describes the snapshot, encrypted copy and restore",

  async arrangeViolation(moto) {
    const id = `phi-plain-${randomUUID().slice(0, 8)}`;
    const resource = await createDbInstance(moto, id, {
      ...COMPLIANT_DATABASE,
      storageEncrypted: false,
      tags: { DataClassification: "PHI" },
    });
    const record = rdsRecord(
      "CreateDBInstance",
      { dBInstanceIdentifier: id, engine: "postgres", dBInstanceClass: "db.t3.micro", masterUsername: "app", masterUserPassword: "****" },
      { dBInstanceIdentifier: id, dBInstanceStatus: "creating", storageEncrypted: false },
    );
    return { record, resource };
  },

  async assertFixed() {
    throw new Error("rds-storage-encrypted is notify-only: nothing is ever fixed");
  },

  async assertUnchanged(moto, resource) {
    const instance = await describeInstance(moto, resource);
    expect(instance.StorageEncrypted).toBe(false);
    expect(instance.DBInstanceStatus).toBe("available");
  },

  // Encryption cannot be turned on in place; the unencrypted database goes away instead.
  async makeCompliant(moto, resource) {
    await deleteInstance(moto, resource);
  },
};
