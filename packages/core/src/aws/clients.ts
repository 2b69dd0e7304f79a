import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@smithy/types";

/**
 * The AWS clients a control may use. Controls never build their own clients: the engine injects these so that
 * tests, the emulator and a real account are the same code path.
 */
export interface AwsClients {
  ec2(region: string): EC2Client;
  s3(region: string): S3Client;
  /** IAM is global; its calls go to us-east-1 (or the configured endpoint). */
  iam(): IAMClient;
  sts(region: string): STSClient;
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

export function createAwsClients(options: AwsClientOptions): AwsClients {
  const common = (region: string) => ({
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
  };
}
