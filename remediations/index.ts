import type { AnyControl } from "@hipaa-remediate/core";
import { control as backupPlanRetention } from "./backup-plan-retention";
import { control as cloudtrailTrailIntegrity } from "./cloudtrail-trail-integrity";
import { control as dynamodbPointInTimeRecovery } from "./dynamodb-point-in-time-recovery";
import { control as configRecorderRunning } from "./config-recorder-running";
import { control as ebsEncryptionByDefault } from "./ebs-encryption-by-default";
import { control as ebsVolumeEncrypted } from "./ebs-volume-encrypted";
import { control as ec2InstanceInPublicSubnet } from "./ec2-instance-in-public-subnet";
import { control as ec2SecurityGroupOpenToWorld } from "./ec2-security-group-open-to-world";
import { control as elbv2ListenerTls } from "./elbv2-listener-tls";
import { control as guarddutyEnabled } from "./guardduty-enabled";
import { control as iamAccessKeyStale } from "./iam-access-key-stale";
import { control as iamConsoleUserMfa } from "./iam-console-user-mfa";
import { control as iamPasswordPolicy } from "./iam-password-policy";
import { control as lambdaFunctionPublic } from "./lambda-function-public";
import { control as kmsKeyProtection } from "./kms-key-protection";
import { control as datastoreClassificationTag } from "./datastore-classification-tag";
import { control as phiTaggedNonProduction } from "./phi-tagged-non-production";
import { control as rootAccountUsed } from "./root-account-used";
import { control as rdsBackupRetention } from "./rds-backup-retention";
import { control as rdsDeletionProtection } from "./rds-deletion-protection";
import { control as rdsInstancePublic } from "./rds-instance-public";
import { control as rdsMultiAz } from "./rds-multi-az";
import { control as rdsStorageEncrypted } from "./rds-storage-encrypted";
import { control as s3BucketAccessLogging } from "./s3-bucket-access-logging";
import { control as s3BucketDefaultEncryption } from "./s3-bucket-default-encryption";
import { control as s3BucketPublicAccess } from "./s3-bucket-public-access";
import { control as s3BucketTlsOnly } from "./s3-bucket-tls-only";
import { control as s3BucketVersioning } from "./s3-bucket-versioning";
import { control as snapshotPublic } from "./snapshot-public";

/**
 * The control registry: an explicit list, checked by test/unit/registry.test.ts. Adding a control means adding
 * its file in this folder and one line here.
 */
export const controls: readonly AnyControl[] = [
  s3BucketDefaultEncryption,
  iamAccessKeyStale,
  ec2InstanceInPublicSubnet,
  phiTaggedNonProduction,
  ebsEncryptionByDefault,
  elbv2ListenerTls,
  backupPlanRetention,
  iamPasswordPolicy,
  iamConsoleUserMfa,
  rootAccountUsed,
  lambdaFunctionPublic,
  s3BucketVersioning,
  s3BucketTlsOnly,
  s3BucketAccessLogging,
  s3BucketPublicAccess,
  rdsDeletionProtection,
  rdsBackupRetention,
  rdsMultiAz,
  rdsInstancePublic,
  rdsStorageEncrypted,
  dynamodbPointInTimeRecovery,
  ec2SecurityGroupOpenToWorld,
  snapshotPublic,
  ebsVolumeEncrypted,
  cloudtrailTrailIntegrity,
  guarddutyEnabled,
  configRecorderRunning,
  kmsKeyProtection,
  datastoreClassificationTag,
];

export function controlById(id: string): AnyControl | undefined {
  return controls.find((control) => control.id === id);
}
