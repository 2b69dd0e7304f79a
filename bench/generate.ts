import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { once } from "node:events";

/**
 * Deterministic generator of CloudTrail log sets for the benchmark. The same parameters always give the same
 * bytes, so figures are comparable between runs and machines. Files are uncompressed, minified
 * `{"Records":[...]}` exactly as CloudTrail writes them (before gzip), so the JSON.parse baseline and
 * ingestion read the same bytes.
 */

export interface LogSetSpec {
  /** Total bytes of JSON to write. */
  totalBytes: number;
  seed: number;
  /** One file of totalBytes (the single-huge-file case) instead of an AWSLogs tree of many files. */
  singleFile: boolean;
}

export interface LogSetManifest {
  spec: LogSetSpec;
  generatorVersion: number;
  files: string[];
  bytes: number;
  records: number;
}

const GENERATOR_VERSION = 2;
export const DATA_DIR = join(import.meta.dirname, ".data");

const ACCOUNTS = ["123456789012", "210987654321", "111122223333"];
const REGIONS = ["us-east-1", "us-west-2", "eu-west-1"];
const START_TIME = Date.UTC(2024, 2, 1, 0, 0, 0);

/** mulberry32: small, fast and good enough to make data look varied. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;

export function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new RangeError("pick from an empty list");
  return item;
}

export function hex(random: Random, length: number): string {
  let text = "";
  while (text.length < length)
    text += Math.floor(random() * 0x100000000)
      .toString(16)
      .padStart(8, "0");
  return text.slice(0, length);
}

export function uuid(random: Random): string {
  const h = hex(random, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface Call {
  eventSource: string;
  eventName: string;
  readOnly: boolean;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
}

const bucketNames = ["phi-claims-archive", "phi-imaging-raw", "analytics-scratch", "app-logs-prod", "patient-portal-assets"];
const userNames = ["alice", "bob", "carol", "deploy-bot", "ci-runner"];

function readCall(random: Random, region: string): Call {
  const choice = Math.floor(random() * 8);
  const bucket = pick(random, bucketNames);
  switch (choice) {
    case 0:
      return {
        eventSource: "ec2.amazonaws.com",
        eventName: "DescribeInstances",
        readOnly: true,
        requestParameters: {
          instancesSet: {},
          filterSet: { items: [{ name: "instance-state-name", valueSet: { items: [{ value: "running" }] } }] },
        },
        responseElements: null,
      };
    case 1:
      return {
        eventSource: "s3.amazonaws.com",
        eventName: "GetBucketEncryption",
        readOnly: true,
        requestParameters: { bucketName: bucket, Host: `${bucket}.s3.${region}.amazonaws.com`, encryption: "" },
        responseElements: null,
      };
    case 2:
      return {
        eventSource: "s3.amazonaws.com",
        eventName: "GetBucketPolicy",
        readOnly: true,
        requestParameters: { bucketName: [bucket], host: [`${bucket}.s3.amazonaws.com`], policy: [""] },
        responseElements: null,
      };
    case 3:
      return {
        eventSource: "iam.amazonaws.com",
        eventName: "ListAccessKeys",
        readOnly: true,
        requestParameters: { userName: pick(random, userNames) },
        responseElements: null,
      };
    case 4:
      return {
        eventSource: "sts.amazonaws.com",
        eventName: "GetCallerIdentity",
        readOnly: true,
        requestParameters: null,
        responseElements: null,
      };
    case 5:
      return {
        eventSource: "rds.amazonaws.com",
        eventName: "DescribeDBInstances",
        readOnly: true,
        requestParameters: { dBInstanceIdentifier: `ehr-db-${Math.floor(random() * 20)}`, maxRecords: 100 },
        responseElements: null,
      };
    case 6:
      return {
        eventSource: "kms.amazonaws.com",
        eventName: "Decrypt",
        readOnly: true,
        requestParameters: {
          encryptionAlgorithm: "SYMMETRIC_DEFAULT",
          encryptionContext: { aws_s3_arn: `arn:aws:s3:::${bucket}/exports/${hex(random, 12)}.parquet` },
        },
        responseElements: null,
      };
    default:
      return {
        eventSource: "cloudtrail.amazonaws.com",
        eventName: "DescribeTrails",
        readOnly: true,
        requestParameters: { includeShadowTrails: false },
        responseElements: null,
      };
  }
}

function writeCall(random: Random, region: string, account: string): Call {
  const choice = Math.floor(random() * 10);
  const bucket = `${pick(random, bucketNames)}-${hex(random, 6)}`;
  switch (choice) {
    case 0: {
      const instanceId = `i-${hex(random, 17)}`;
      return {
        eventSource: "ec2.amazonaws.com",
        eventName: "RunInstances",
        readOnly: false,
        requestParameters: {
          instancesSet: { items: [{ imageId: `ami-${hex(random, 17)}`, minCount: 1, maxCount: 1 }] },
          instanceType: pick(random, ["t3.micro", "m6i.large", "r6g.xlarge"]),
          blockDeviceMapping: {},
          monitoring: { enabled: false },
          disableApiTermination: false,
          networkInterfaceSet: {
            items: [{ deviceIndex: 0, subnetId: `subnet-${hex(random, 17)}`, associatePublicIpAddress: random() < 0.3 }],
          },
          tagSpecificationSet: {
            items: [
              {
                resourceType: "instance",
                tags: [
                  { key: "Environment", value: pick(random, ["prod", "dev"]) },
                  { key: "DataClassification", value: "PHI" },
                ],
              },
            ],
          },
        },
        responseElements: {
          requestId: uuid(random),
          reservationId: `r-${hex(random, 17)}`,
          ownerId: account,
          groupSet: {},
          instancesSet: {
            items: [
              {
                instanceId,
                imageId: `ami-${hex(random, 17)}`,
                instanceState: { code: 0, name: "pending" },
                privateDnsName: `ip-10-0-${Math.floor(random() * 255)}-${Math.floor(random() * 255)}.${region}.compute.internal`,
                amiLaunchIndex: 0,
                productCodes: {},
                instanceType: "m6i.large",
                launchTime: 1709251200000,
                placement: { availabilityZone: `${region}a`, tenancy: "default" },
                monitoring: { state: "disabled" },
                subnetId: `subnet-${hex(random, 17)}`,
                vpcId: `vpc-${hex(random, 17)}`,
                privateIpAddress: `10.0.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}`,
                architecture: "x86_64",
                rootDeviceType: "ebs",
                virtualizationType: "hvm",
                blockDeviceMapping: {},
                networkInterfaceSet: { items: [{ networkInterfaceId: `eni-${hex(random, 17)}`, status: "in-use", sourceDestCheck: true }] },
                ebsOptimized: false,
                enaSupport: true,
                cpuOptions: { coreCount: 1, threadsPerCore: 2 },
                metadataOptions: { state: "pending", httpTokens: "required", httpPutResponseHopLimit: 2, httpEndpoint: "enabled" },
              },
            ],
          },
        },
      };
    }
    case 1:
      return {
        eventSource: "s3.amazonaws.com",
        eventName: "CreateBucket",
        readOnly: false,
        requestParameters: {
          CreateBucketConfiguration: { LocationConstraint: region, xmlns: "http://s3.amazonaws.com/doc/2006-03-01/" },
          bucketName: bucket,
          Host: `s3.${region}.amazonaws.com`,
        },
        responseElements: null,
      };
    case 2:
      return {
        eventSource: "s3.amazonaws.com",
        eventName: "PutBucketEncryption",
        readOnly: false,
        requestParameters: {
          bucketName: bucket,
          Host: `${bucket}.s3.${region}.amazonaws.com`,
          encryption: "",
          ServerSideEncryptionConfiguration: {
            xmlns: "http://s3.amazonaws.com/doc/2006-03-01/",
            Rule: {
              ApplyServerSideEncryptionByDefault: {
                SSEAlgorithm: "aws:kms",
                KMSMasterKeyID: `arn:aws:kms:${region}:${account}:key/${uuid(random)}`,
              },
              BucketKeyEnabled: true,
            },
          },
        },
        responseElements: null,
      };
    case 3:
      return {
        eventSource: "ec2.amazonaws.com",
        eventName: "CreateTags",
        readOnly: false,
        requestParameters: {
          resourcesSet: { items: [{ resourceId: `i-${hex(random, 17)}` }] },
          tagSet: { items: [{ key: "Environment", value: pick(random, ["prod", "dev", "staging"]) }] },
        },
        responseElements: { requestId: uuid(random), _return: true },
      };
    case 4:
      return {
        eventSource: "iam.amazonaws.com",
        eventName: "CreateAccessKey",
        readOnly: false,
        requestParameters: { userName: pick(random, userNames) },
        responseElements: {
          accessKey: {
            userName: pick(random, userNames),
            accessKeyId: `AKIA${hex(random, 16).toUpperCase()}`,
            status: "Active",
            createDate: "Mar 1, 2024 10:00:00 AM",
          },
        },
      };
    case 5:
      return {
        eventSource: "ec2.amazonaws.com",
        eventName: "AuthorizeSecurityGroupIngress",
        readOnly: false,
        requestParameters: {
          groupId: `sg-${hex(random, 17)}`,
          ipPermissions: {
            items: [
              {
                ipProtocol: "tcp",
                fromPort: 22,
                toPort: 22,
                groups: {},
                ipRanges: { items: [{ cidrIp: random() < 0.5 ? "0.0.0.0/0" : "10.0.0.0/8" }] },
                ipv6Ranges: {},
                prefixListIds: {},
              },
            ],
          },
        },
        responseElements: {
          requestId: uuid(random),
          _return: true,
          securityGroupRuleSet: {
            items: [
              {
                groupOwnerId: account,
                groupId: `sg-${hex(random, 17)}`,
                securityGroupRuleId: `sgr-${hex(random, 17)}`,
                isEgress: false,
                ipProtocol: "tcp",
                fromPort: 22,
                toPort: 22,
                cidrIpv4: "0.0.0.0/0",
              },
            ],
          },
        },
      };
    case 6:
      return {
        eventSource: "s3.amazonaws.com",
        eventName: "PutBucketPolicy",
        readOnly: false,
        requestParameters: {
          bucketName: bucket,
          Host: `${bucket}.s3.amazonaws.com`,
          policy: "",
          bucketPolicy: {
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          },
        },
        responseElements: null,
      };
    case 7:
      return {
        eventSource: "rds.amazonaws.com",
        eventName: "ModifyDBInstance",
        readOnly: false,
        requestParameters: {
          dBInstanceIdentifier: `ehr-db-${Math.floor(random() * 20)}`,
          backupRetentionPeriod: Math.floor(random() * 14),
          multiAZ: random() < 0.5,
          applyImmediately: true,
        },
        responseElements: {
          dBInstanceIdentifier: "ehr-db",
          dBInstanceClass: "db.r6g.large",
          engine: "postgres",
          dBInstanceStatus: "available",
          multiAZ: false,
          storageEncrypted: true,
          publiclyAccessible: false,
        },
      };
    case 8:
      return {
        eventSource: "cloudtrail.amazonaws.com",
        eventName: "StopLogging",
        readOnly: false,
        requestParameters: { name: `arn:aws:cloudtrail:${region}:${account}:trail/org-trail` },
        responseElements: null,
      };
    default:
      return {
        eventSource: "ec2.amazonaws.com",
        eventName: "DisableEbsEncryptionByDefault",
        readOnly: false,
        requestParameters: null,
        responseElements: {
          DisableEbsEncryptionByDefaultResponse: {
            xmlns: "http://ec2.amazonaws.com/doc/2016-11-15/",
            requestId: uuid(random),
            ebsEncryptionByDefault: false,
          },
        },
      };
  }
}

function identity(random: Random, account: string): Record<string, unknown> {
  const kind = random();
  if (kind < 0.5) {
    const role = pick(random, ["AdminRole", "ReadOnlyRole", "DeployRole", "AWSServiceRoleForConfig"]);
    const session = `${pick(random, userNames)}-${hex(random, 8)}`;
    return {
      type: "AssumedRole",
      principalId: `AROA${hex(random, 17).toUpperCase()}:${session}`,
      arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
      accountId: account,
      accessKeyId: `ASIA${hex(random, 16).toUpperCase()}`,
      sessionContext: {
        sessionIssuer: {
          type: "Role",
          principalId: `AROA${hex(random, 17).toUpperCase()}`,
          arn: `arn:aws:iam::${account}:role/${role}`,
          accountId: account,
          userName: role,
        },
        webIdFederationData: {},
        attributes: { creationDate: "2024-03-01T00:00:00Z", mfaAuthenticated: "false" },
      },
    };
  }
  if (kind < 0.85) {
    const user = pick(random, userNames);
    return {
      type: "IAMUser",
      principalId: `AIDA${hex(random, 17).toUpperCase()}`,
      arn: `arn:aws:iam::${account}:user/${user}`,
      accountId: account,
      accessKeyId: `AKIA${hex(random, 16).toUpperCase()}`,
      userName: user,
    };
  }
  return { type: "AWSService", invokedBy: pick(random, ["config.amazonaws.com", "cloudtrail.amazonaws.com", "autoscaling.amazonaws.com"]) };
}

function record(random: Random, sequence: number, account: string, region: string): Record<string, unknown> {
  const roll = random();
  const call = roll < 0.7 ? readCall(random, region) : writeCall(random, region, account);
  // Some records drop their parameters (as CloudTrail does for many reads), some are failed calls.
  if (random() < 0.05) call.requestParameters = null;
  const failed = random() < 0.1;
  const base: Record<string, unknown> = {
    eventVersion: "1.09",
    userIdentity: identity(random, account),
    eventTime: new Date(START_TIME + sequence * 250).toISOString().replace(/\.\d{3}Z$/, "Z"),
    eventSource: call.eventSource,
    eventName: call.eventName,
    awsRegion: region,
    sourceIPAddress: `198.51.100.${Math.floor(random() * 255)}`,
    userAgent: pick(random, [
      "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
      "aws-sdk-js/3.500.0 ua/2.0 os/linux lang/js md/nodejs#20.11.0",
      "config.amazonaws.com",
      "console.amazonaws.com",
    ]),
  };
  if (failed) {
    base.errorCode = pick(random, [
      "AccessDenied",
      "Client.UnauthorizedOperation",
      "NoSuchBucketPolicy",
      "ServerSideEncryptionConfigurationNotFoundError",
    ]);
    base.errorMessage = "User is not authorized to perform this operation";
  }
  return {
    ...base,
    requestParameters: call.requestParameters,
    responseElements: failed ? null : call.responseElements,
    requestID: uuid(random),
    eventID: uuid(random),
    readOnly: call.readOnly,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: "Management",
    tlsDetails: {
      tlsVersion: "TLSv1.3",
      cipherSuite: "TLS_AES_128_GCM_SHA256",
      clientProvidedHostHeader: `${call.eventSource.split(".")[0]}.${region}.amazonaws.com`,
    },
  };
}

function logFilePath(root: string, account: string, region: string, time: number, random: Random): string {
  const at = new Date(time);
  const y = String(at.getUTCFullYear());
  const m = String(at.getUTCMonth() + 1).padStart(2, "0");
  const d = String(at.getUTCDate()).padStart(2, "0");
  const stamp = at.toISOString().replace(/[-:]/g, "").slice(0, 13);
  const name = `${account}_CloudTrail_${region}_${stamp}Z_${hex(random, 16)}.json`;
  return join(root, "AWSLogs", account, "CloudTrail", region, y, m, d, name);
}

function specDirName(spec: LogSetSpec): string {
  const mib = Math.round(spec.totalBytes / (1 << 20));
  return `${spec.singleFile ? "single" : "set"}-${mib}MiB-seed${spec.seed}`;
}

function readManifest(path: string): LogSetManifest | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LogSetManifest;
  } catch {
    return undefined;
  }
}

function sameSpec(a: LogSetSpec, b: LogSetSpec): boolean {
  return a.totalBytes === b.totalBytes && a.seed === b.seed && a.singleFile === b.singleFile;
}

/** Writes one log file of about `targetBytes`, streaming, so even the huge single file never sits in memory. */
async function writeLogFile(
  path: string,
  targetBytes: number,
  random: Random,
  sequence: { next: number },
  account: string,
  region: string,
): Promise<{ bytes: number; records: number }> {
  mkdirSync(dirname(path), { recursive: true });
  const out = createWriteStream(path);
  let bytes = 0;
  let records = 0;
  let buffered: string[] = [];
  let bufferedBytes = 0;
  const flush = async () => {
    if (buffered.length === 0) return;
    if (!out.write(buffered.join(""))) await once(out, "drain");
    buffered = [];
    bufferedBytes = 0;
  };
  const head = '{"Records":[';
  buffered.push(head);
  bytes += head.length;
  while (bytes < targetBytes - 2) {
    const text = (records === 0 ? "" : ",") + JSON.stringify(record(random, sequence.next++, account, region));
    buffered.push(text);
    bufferedBytes += text.length;
    bytes += Buffer.byteLength(text);
    records++;
    if (bufferedBytes > 1 << 20) await flush();
  }
  buffered.push("]}");
  bytes += 2;
  await flush();
  out.end();
  await once(out, "finish");
  return { bytes, records };
}

/** Generates the log set for `spec` under bench/.data, or reuses it when an identical one is there. */
export async function ensureLogSet(
  spec: LogSetSpec,
  log: (line: string) => void = () => undefined,
): Promise<{ dir: string; manifest: LogSetManifest }> {
  const dir = join(DATA_DIR, specDirName(spec));
  // Beside the set, not in it: the benchmark reads the whole folder.
  const manifestPath = `${dir}.manifest.json`;
  const existing = readManifest(manifestPath);
  if (
    existing &&
    existing.generatorVersion === GENERATOR_VERSION &&
    sameSpec(existing.spec, spec) &&
    existing.files.every((f) => existsSync(join(dir, f)))
  ) {
    return { dir, manifest: existing };
  }
  rmSync(dir, { recursive: true, force: true });
  log(`generating ${specDirName(spec)} in ${dir} ...`);
  const random = prng(spec.seed);
  const sequence = { next: 0 };
  const files: string[] = [];
  let bytes = 0;
  let records = 0;
  while (bytes < spec.totalBytes) {
    const account = pick(random, ACCOUNTS);
    const region = pick(random, REGIONS);
    const path = logFilePath(dir, account, region, START_TIME + sequence.next * 250, random);
    // CloudTrail delivers a file every few minutes per region; busy accounts make files of a few MB.
    const target = spec.singleFile ? spec.totalBytes : Math.min(spec.totalBytes - bytes, Math.floor((0.25 + random() * 7.75) * (1 << 20)));
    const written = await writeLogFile(path, Math.max(target, 4096), random, sequence, account, region);
    files.push(relative(dir, path));
    bytes += written.bytes;
    records += written.records;
  }
  files.sort();
  const manifest: LogSetManifest = { spec, generatorVersion: GENERATOR_VERSION, files, bytes, records };
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  log(`  ${files.length} files, ${(bytes / (1 << 20)).toFixed(0)} MiB, ${records} records`);
  return { dir, manifest };
}

/** `tsx bench/generate.ts [MiB] [--single]` generates a set on its own. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const mib = Number(process.argv[2] ?? 1024);
  const singleFile = process.argv.includes("--single");
  const { dir, manifest } = await ensureLogSet({ totalBytes: mib * (1 << 20), seed: 1, singleFile }, console.log);
  console.log(`${dir}: ${manifest.files.length} files, ${manifest.records} records`);
}
