import type { ResourceRef } from "@hipaa-remediate/core";

/** ARN and ResourceRef builders, so every control names resources the same way. */

export function bucketRef(bucket: string, account: string, region: string): ResourceRef {
  return { type: "AWS::S3::Bucket", id: bucket, arn: `arn:aws:s3:::${bucket}`, account, region };
}

export function instanceRef(instanceId: string, account: string, region: string): ResourceRef {
  return {
    type: "AWS::EC2::Instance",
    id: instanceId,
    arn: `arn:aws:ec2:${region}:${account}:instance/${instanceId}`,
    account,
    region,
  };
}

/** Access keys have no ARN of their own; the user's ARN plus the key id identifies them. */
export function accessKeyRef(userName: string, accessKeyId: string, account: string): ResourceRef {
  return {
    type: "AWS::IAM::AccessKey",
    id: `${userName}/${accessKeyId}`,
    arn: `arn:aws:iam::${account}:user/${userName}#access-key/${accessKeyId}`,
    account,
    region: "us-east-1",
  };
}

export function userRef(userName: string, account: string): ResourceRef {
  return {
    type: "AWS::IAM::User",
    id: userName,
    arn: `arn:aws:iam::${account}:user/${userName}`,
    account,
    region: "us-east-1",
  };
}
