import type { AnyControl } from "@hipaa-remediate/core";
import { control as ec2InstanceInPublicSubnet } from "./ec2-instance-in-public-subnet";
import { control as iamAccessKeyStale } from "./iam-access-key-stale";
import { control as phiTaggedNonProduction } from "./phi-tagged-non-production";
import { control as s3BucketDefaultEncryption } from "./s3-bucket-default-encryption";

/**
 * The control registry: an explicit list, checked by test/unit/registry.test.ts. Adding a control means adding
 * its file in this folder and one line here.
 */
export const controls: readonly AnyControl[] = [
  s3BucketDefaultEncryption,
  iamAccessKeyStale,
  ec2InstanceInPublicSubnet,
  phiTaggedNonProduction,
];

export function controlById(id: string): AnyControl | undefined {
  return controls.find((control) => control.id === id);
}
