/**
 * Recognises AWS "the resource is gone" errors, so a control can end a finding as "no longer applies" instead
 * of failing. SDK v3 errors carry the service error code in `name`.
 */
const NOT_FOUND_CODES = new Set([
  "NoSuchBucket",
  "NoSuchEntity",
  "NoSuchKey",
  "NotFound",
  "InvalidInstanceID.NotFound",
  "InvalidInstanceID.Malformed",
  "InvalidGroup.NotFound",
  "InvalidVpcID.NotFound",
  "InvalidSubnetID.NotFound",
  "ResourceNotFoundException",
  "ListenerNotFound",
  "ListenerNotFoundException",
  "LoadBalancerNotFound",
  "LoadBalancerNotFoundException",
  "DBInstanceNotFound",
  "DBInstanceNotFoundFault",
  "DBClusterNotFoundFault",
  "TableNotFoundException",
  "InvalidSnapshot.NotFound",
  "InvalidVolume.NotFound",
  "DBSnapshotNotFound",
  "DBSnapshotNotFoundFault",
  "DBClusterSnapshotNotFoundFault",
  // KMS: DescribeKey and the key calls on a key id that does not exist.
  "NotFoundException",
]);

export function awsErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { Code?: unknown; name?: unknown }).Code ?? (error as { name?: unknown }).name;
  return typeof code === "string" ? code : undefined;
}

export function isNotFound(error: unknown): boolean {
  const code = awsErrorCode(error);
  return code !== undefined && NOT_FOUND_CODES.has(code);
}

/** True for an error whose code is one of `codes`. */
export function hasErrorCode(error: unknown, ...codes: string[]): boolean {
  const code = awsErrorCode(error);
  return code !== undefined && codes.includes(code);
}
