import type { BackupClient } from "@aws-sdk/client-backup";
import type { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import type { ConfigServiceClient } from "@aws-sdk/client-config-service";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { GuardDutyClient } from "@aws-sdk/client-guardduty";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { KMSClient } from "@aws-sdk/client-kms";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { RDSClient } from "@aws-sdk/client-rds";
import type { S3Client } from "@aws-sdk/client-s3";
import type { S3ControlClient } from "@aws-sdk/client-s3-control";
import type { STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { accessDeniedMiddleware, type AccessDenial, type ActingAs, type AnyClientPlugin } from "./access-denied";
import { assumeRoleCredentials, memberRoleArn, type MemberRoleAccess } from "./member-role";

/**
 * The AWS clients a control may use, all acting in one account. Controls never build their own clients: the
 * engine injects these so that tests, the emulator and a real account are the same code path.
 *
 * Every service's SDK is imported on first use (hence the promises): a handler or a cold start that never touches
 * EC2 never loads its SDK, and the Slack function loads none.
 */
export interface AwsClients {
  /** The account these clients act in, when the engine knows it. */
  readonly account?: string;
  /**
   * The clients acting in `account`: these same clients for the engine's own account (or when the engine does not
   * know it), clients holding the member role's credentials for an organisation account. Throws
   * MemberAccountNotConfiguredError for a foreign account when the policy has no `scope.organization`.
   */
  forAccount(account: string): AwsClients;
  ec2(region: string): Promise<EC2Client>;
  s3(region: string): Promise<S3Client>;
  /** IAM is global; its calls go to us-east-1 (or the configured endpoint). */
  iam(): Promise<IAMClient>;
  sts(region: string): Promise<STSClient>;
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

/** Where the engine runs and how it reaches the organisation's other accounts. */
export interface AccountAccess {
  /** The engine's own account: its clients use the engine's own credentials. */
  home: string;
  /** The engine's own role, named in access-denied messages about the home account. */
  homeRole?: string;
  /** aws, aws-cn or aws-us-gov; default from the STS region. */
  partition?: string;
  /** Region of the STS endpoint that issues member credentials; default us-east-1. */
  stsRegion?: string;
  /** Absent: the engine acts in its home account only (the policy has no `scope.organization`). */
  member?: Omit<MemberRoleAccess, "roleArn">;
}

export interface AwsClientOptions {
  /** An explicit endpoint (the emulator). When absent the standard AWS configuration applies, including AWS_ENDPOINT_URL. */
  endpoint?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** SDK standard retry mode: throttling and 5xx are retried with exponential backoff and jitter. */
  maxAttempts?: number;
  /** Appended to the SDK user agent so CloudTrail records of the engine's own calls are recognisable. */
  userAgent: string;
  /** Absent: every account is served with the engine's own credentials (the local runner, tests, replay). */
  accounts?: AccountAccess;
  /** Called for every access-denied answer, e.g. to emit the metric an alarm watches (see accessDeniedMetricLine). */
  onAccessDenied?: (denial: AccessDenial) => void;
  /** Injected clock for the member credentials' expiry; default the system clock. */
  now?: () => Date;
}

export const DEFAULT_MAX_ATTEMPTS = 5;

/** The client options every service shares. */
interface CommonClientConfig {
  region: string;
  endpoint?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  maxAttempts: number;
  retryMode: string;
  customUserAgent: string;
}

/** The SDK client classes share this much: a config in, a middleware stack to add the access-denied rewrite to. */
interface SdkClient {
  middlewareStack: { use(pluggable: AnyClientPlugin): void };
}

export class MemberAccountNotConfiguredError extends Error {
  constructor(
    readonly account: string,
    readonly home: string,
  ) {
    super(
      `account ${account} is not the engine's account ${home}, and the policy has no scope.organization: ` +
        "add scope.organization (id, externalId) and roll out the member template to act in other accounts",
    );
    this.name = "MemberAccountNotConfiguredError";
  }
}

export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

export function createAwsClients(options: AwsClientOptions): AwsClients {
  const members = new Map<string, AwsClients>();
  const home = clientsActingAs(options, options.credentials, homeActingAs(options), (account) => forAccount(account));
  function forAccount(account: string): AwsClients {
    const access = options.accounts;
    if (!access || account === access.home) return home;
    if (!access.member) throw new MemberAccountNotConfiguredError(account, access.home);
    const cached = members.get(account);
    if (cached) return cached;
    const stsRegion = access.stsRegion ?? "us-east-1";
    const roleArn = memberRoleArn(access.partition ?? partitionOf(stsRegion), account, access.member.roleName);
    const credentials = assumeRoleCredentials(() => home.sts(stsRegion), { ...access.member, roleArn }, options.now ?? (() => new Date()));
    const clients = clientsActingAs(options, credentials, { account, role: roleArn, member: true }, forAccount);
    members.set(account, clients);
    return clients;
  }
  return home;
}

function homeActingAs(options: AwsClientOptions): ActingAs {
  const access = options.accounts;
  return { ...(access ? { account: access.home } : {}), ...(access?.homeRole ? { role: access.homeRole } : {}), member: false };
}

/** One set of clients, one per service and region, all with the same credentials. */
function clientsActingAs(
  options: AwsClientOptions,
  credentials: AwsClientOptions["credentials"],
  actingAs: ActingAs,
  forAccount: (account: string) => AwsClients,
): AwsClients {
  const common = (region: string): CommonClientConfig => ({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: "standard",
    customUserAgent: options.userAgent,
  });
  const denied = accessDeniedMiddleware(actingAs, options.onAccessDenied);
  const cache = new Map<string, Promise<unknown>>();
  /** One client per service and region, its SDK module imported the first time it is asked for. */
  function lazy<T extends SdkClient>(service: string, region: string, load: (config: CommonClientConfig) => Promise<T>): Promise<T> {
    const key = `${service}:${region}`;
    const hit = cache.get(key);
    if (hit) return hit as Promise<T>;
    const pending = load(common(region)).then((client) => {
      client.middlewareStack.use(denied);
      return client;
    });
    // A failed import must not stay cached as a rejected promise forever.
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
    return pending;
  }
  return {
    ...(actingAs.account ? { account: actingAs.account } : {}),
    forAccount,
    ec2: (region) => lazy("ec2", region, async (config) => new (await import("@aws-sdk/client-ec2")).EC2Client(config)),
    s3: (region) =>
      lazy(
        "s3",
        region,
        async (config) =>
          new (await import("@aws-sdk/client-s3")).S3Client({
            ...config,
            // Path-style addressing works with both AWS and local emulators, which cannot serve virtual hosts.
            forcePathStyle: Boolean(options.endpoint),
            requestChecksumCalculation: "WHEN_REQUIRED",
            responseChecksumValidation: "WHEN_REQUIRED",
            expectContinueHeader: false,
          }),
      ),
    iam: () => lazy("iam", "us-east-1", async (config) => new (await import("@aws-sdk/client-iam")).IAMClient(config)),
    sts: (region) => lazy("sts", region, async (config) => new (await import("@aws-sdk/client-sts")).STSClient(config)),
    backup: (region) => lazy("backup", region, async (config) => new (await import("@aws-sdk/client-backup")).BackupClient(config)),
    cloudTrail: (region) =>
      lazy("cloudtrail", region, async (config) => new (await import("@aws-sdk/client-cloudtrail")).CloudTrailClient(config)),
    config: (region) =>
      lazy("config", region, async (config) => new (await import("@aws-sdk/client-config-service")).ConfigServiceClient(config)),
    dynamodb: (region) => lazy("dynamodb", region, async (config) => new (await import("@aws-sdk/client-dynamodb")).DynamoDBClient(config)),
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
