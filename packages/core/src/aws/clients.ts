import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import type { BackupClient } from "@aws-sdk/client-backup";
import type { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import type { ConfigServiceClient } from "@aws-sdk/client-config-service";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { GuardDutyClient } from "@aws-sdk/client-guardduty";
import type { KMSClient } from "@aws-sdk/client-kms";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { RDSClient } from "@aws-sdk/client-rds";
import type { S3ControlClient } from "@aws-sdk/client-s3-control";
import type { AwsCredentialIdentity } from "@smithy/types";

/**
 * The AWS clients a control may use. Controls never build their own clients: the engine injects these so that
 * tests, the emulator and a real account are the same code path.
 *
 * EC2, S3, IAM and STS serve the headline controls and are built on first use. Every other service is imported
 * on first use too (hence the promise): a handler or a cold start that never touches RDS never loads its SDK.
 */
export interface AwsClients {
  ec2(region: string): EC2Client;
  s3(region: string): S3Client;
  /** IAM is global; its calls go to us-east-1 (or the configured endpoint). */
  iam(): IAMClient;
  sts(region: string): STSClient;
  backup(region: string): Promise<BackupClient>;
  cloudTrail(region: string): Promise<CloudTrailClient>;
  config(region: string): Promise<ConfigServiceClient>;
  dynamodb(region: string): Promise<DynamoDBClient>;
  elbv2(region: string): Promise<ElasticLoadBalancingV2Client>;
  guardDuty(region: string): Promise<GuardDutyClient>;
  kms(region: string): Promise<KMSClient>;
  lambda(region: string): Promise<LambdaClient>;
  rds(region: string): Promise<RDSClient>;
  /** S3 Control (account-level public access block). */
  s3Control(region: string): Promise<S3ControlClient>;
}

export interface AwsClientOptions {
  /** An explicit endpoint (the emulator). When absent the standard AWS configuration applies, including AWS_ENDPOINT_URL. */
  endpoint?: string;
  credentials?: AwsCredentialIdentity;
  /** SDK standard retry mode: throttling and 5xx are retried with exponential backoff and jitter. */
  maxAttempts?: number;
  /** Appended to the SDK user agent so CloudTrail records of the engine's own calls are recognisable. */
  userAgent: string;
}

export const DEFAULT_MAX_ATTEMPTS = 5;

/** The client options every service shares. */
interface CommonClientConfig {
  region: string;
  endpoint?: string;
  credentials?: AwsCredentialIdentity;
  maxAttempts: number;
  retryMode: string;
  customUserAgent: string;
}

export function createAwsClients(options: AwsClientOptions): AwsClients {
  const common = (region: string): CommonClientConfig => ({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: "standard",
    customUserAgent: options.userAgent,
  });
  const cache = new Map<string, unknown>();
  function memo<T>(key: string, build: () => T): T {
    const hit = cache.get(key);
    if (hit !== undefined) return hit as T;
    const client = build();
    cache.set(key, client);
    return client;
  }
  /** One client per service and region, its SDK module imported the first time it is asked for. */
  function lazy<T>(service: string, region: string, load: (config: CommonClientConfig) => Promise<T>): Promise<T> {
    return memo(`${service}:${region}`, () => {
      const pending = load(common(region));
      // A failed import must not stay cached as a rejected promise forever.
      pending.catch(() => cache.delete(`${service}:${region}`));
      return pending;
    });
  }
  return {
    ec2: (region) => memo(`ec2:${region}`, () => new EC2Client(common(region))),
    s3: (region) =>
      memo(
        `s3:${region}`,
        () =>
          new S3Client({
            ...common(region),
            // Path-style addressing works with both AWS and local emulators, which cannot serve virtual hosts.
            forcePathStyle: Boolean(options.endpoint),
            requestChecksumCalculation: "WHEN_REQUIRED",
            responseChecksumValidation: "WHEN_REQUIRED",
            expectContinueHeader: false,
          }),
      ),
    iam: () => memo("iam", () => new IAMClient(common("us-east-1"))),
    sts: (region) => memo(`sts:${region}`, () => new STSClient(common(region))),
    backup: (region) => lazy("backup", region, async (config) => new (await import("@aws-sdk/client-backup")).BackupClient(config)),
    cloudTrail: (region) =>
      lazy("cloudtrail", region, async (config) => new (await import("@aws-sdk/client-cloudtrail")).CloudTrailClient(config)),
    config: (region) =>
      lazy("config", region, async (config) => new (await import("@aws-sdk/client-config-service")).ConfigServiceClient(config)),
    dynamodb: (region) =>
      lazy("dynamodb", region, async (config) => new (await import("@aws-sdk/client-dynamodb")).DynamoDBClient(config)),
    elbv2: (region) =>
      lazy(
        "elbv2",
        region,
        async (config) => new (await import("@aws-sdk/client-elastic-load-balancing-v2")).ElasticLoadBalancingV2Client(config),
      ),
    guardDuty: (region) =>
      lazy("guardduty", region, async (config) => new (await import("@aws-sdk/client-guardduty")).GuardDutyClient(config)),
    kms: (region) => lazy("kms", region, async (config) => new (await import("@aws-sdk/client-kms")).KMSClient(config)),
    lambda: (region) => lazy("lambda", region, async (config) => new (await import("@aws-sdk/client-lambda")).LambdaClient(config)),
    rds: (region) => lazy("rds", region, async (config) => new (await import("@aws-sdk/client-rds")).RDSClient(config)),
    // S3 Control puts the account id in front of the host; moto cannot serve that, so its tests inject the client.
    s3Control: (region) =>
      lazy("s3control", region, async (config) => new (await import("@aws-sdk/client-s3-control")).S3ControlClient(config)),
  };
}
