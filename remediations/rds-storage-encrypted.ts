import { CATEGORIES, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { NotifyOnlyPlanError } from "./lib/errors";
import { booleanOf, stringOf } from "./lib/json-fields";
import { kmsKeyReference } from "./lib/options";
import {
  RDS_DESCRIBE_ACTIONS,
  RDS_DETECT_ACTIONS,
  RDS_SOURCE,
  databaseSettingReaders,
  dbClusterRefsFromEvent,
  dbClusters,
  dbInstanceRefsFromEvent,
  dbInstances,
  governedByCluster,
  isDbCluster,
  ownSetting,
  settingInEvent,
} from "./lib/rds";
import { defineSettingControl } from "./lib/setting-control";

const optionsSchema = z
  .strictObject({
    /** The KMS key the plan tells people to encrypt the copy with; the AWS managed key aws/rds when absent. */
    kmsKeyId: kmsKeyReference().optional(),
  })
  .prefault({});

type EncryptionOptions = z.output<typeof optionsSchema>;

/** Storage encrypted or not; null for an Aurora member instance, whose cluster's storage it uses. */
const encrypted = z.boolean().nullable();
type Encrypted = z.output<typeof encrypted>;

const IN_PLACE_IMPOSSIBLE = "RDS cannot encrypt an existing database in place, so the engine only reports it.";

/** The migration a person has to run, in order, for an instance or a cluster. */
function migrationSteps(ref: ResourceRef, options: EncryptionOptions): string[] {
  const key = options.kmsKeyId ? `KMS key ${options.kmsKeyId}` : "a KMS key (the AWS managed key aws/rds if none is chosen)";
  if (isDbCluster(ref)) {
    return [
      `Take a snapshot of DB cluster ${ref.id} (CreateDBClusterSnapshot).`,
      `Copy the snapshot encrypted with ${key} (CopyDBClusterSnapshot with KmsKeyId).`,
      "Restore a new cluster from the encrypted copy (RestoreDBClusterFromSnapshot), then add its instances.",
      "Stop writes, point applications at the new cluster's endpoints, and check them.",
      `Delete the unencrypted cluster ${ref.id} and its unencrypted snapshots once nothing uses them (turn deletion protection off first).`,
    ];
  }
  return [
    `Take a snapshot of DB instance ${ref.id} (CreateDBSnapshot).`,
    `Copy the snapshot encrypted with ${key} (CopyDBSnapshot with KmsKeyId).`,
    "Restore a new instance from the encrypted copy (RestoreDBInstanceFromDBSnapshot) with the same class, subnet group and security groups.",
    "Stop writes, point applications at the new endpoint (or swap identifiers with ModifyDBInstance NewDBInstanceIdentifier), and check them.",
    `Delete the unencrypted instance ${ref.id} and its unencrypted snapshots once nothing uses them (turn deletion protection off first).`,
  ];
}

/**
 * Encrypted storage on every new RDS database. Encryption can only be chosen when a database is created, so this
 * control watches creations and reports unencrypted ones with the migration that fixes them.
 */
export const control = defineSettingControl<EncryptionOptions, Encrypted>({
  id: "rds-storage-encrypted",
  title: "RDS databases are created with encrypted storage",
  category: "encryption-at-rest",
  hipaa: {
    sections: [...CATEGORIES["encryption-at-rest"].hipaa],
    why: "Encrypted storage keeps a database's ePHI, its automated backups, snapshots and read replicas encrypted at rest, the safeguard 164.312(a)(2)(iv) asks for.",
  },
  severity: "high",
  options: optionsSchema,
  triggers: [
    { source: RDS_SOURCE, name: "CreateDBInstance", resources: dbInstanceRefsFromEvent },
    { source: RDS_SOURCE, name: "CreateDBCluster", resources: dbClusterRefsFromEvent },
  ],
  permissions: {
    detect: RDS_DETECT_ACTIONS,
    // Notify-only: the runner never applies or rolls back; these only re-read the database.
    apply: RDS_DESCRIBE_ACTIONS,
    rollback: RDS_DESCRIBE_ACTIONS,
  },
  kind: [dbInstances, dbClusters],
  quietUnlessEventBreaksIt: true,
  setting: encrypted,
  ...databaseSettingReaders({
    instance: (instance) => ownSetting(instance, (own) => own.StorageEncrypted === true),
    cluster: (cluster) => cluster.StorageEncrypted === true,
  }),
  async write(ref) {
    throw new NotifyOnlyPlanError(`rds-storage-encrypted cannot change ${ref.id}: ${IN_PLACE_IMPOSSIBLE}`);
  },
  shortfall: (value) => (value === false ? "stores its data unencrypted" : undefined),
  required: () => true,
  describe: (value) => (value === null ? "encrypted or not with its DB cluster" : value ? "encrypted at rest" : "unencrypted"),
  reversible: false,
  notifyOnly: () => IN_PLACE_IMPOSSIBLE,
  notes: (ref, _required, options) => migrationSteps(ref, options),
  fromEvent(event, ref) {
    if (governedByCluster(event, ref)) return null;
    const stated = booleanOf(settingInEvent(event, "storageEncrypted"));
    if (stated !== undefined) return stated;
    // A key in the request means encrypted storage; without either, RDS creates the database unencrypted.
    return stringOf(event.request?.kmsKeyId) !== undefined;
  },
});
