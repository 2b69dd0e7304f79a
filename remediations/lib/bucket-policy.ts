import { DeleteBucketPolicyCommand, GetBucketPolicyCommand, PutBucketPolicyCommand, type Grant, type S3Client } from "@aws-sdk/client-s3";
import { isJsonObject, matchesGlob, type JsonObject, type JsonValue } from "@hipaa-remediate/core";
import { z } from "zod";
import { hasErrorCode } from "./aws-errors";
import { objectAt, objectsOf, stringOf, stringsOf } from "./json-fields";

/**
 * Bucket policies and ACLs: reading them from the API and from CloudTrail requests, finding who they open the
 * bucket to, and merging the engine's statements into a policy without disturbing anything else in it.
 */

export class BucketPolicyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BucketPolicyError";
  }
}

const policyDocumentSchema = z
  .object({
    Version: z.string().optional(),
    Statement: z.union([z.array(z.record(z.string(), z.json())), z.record(z.string(), z.json())]).optional(),
  })
  .loose();

export type PolicyDocument = { document: JsonObject; statements: JsonObject[] };

/** A policy document already parsed from JSON: its statements as a list (a single statement may be an object). */
export function policyDocumentOf(parsed: unknown, bucket: string): PolicyDocument {
  const result = policyDocumentSchema.safeParse(parsed);
  if (!result.success || !isJsonObject(parsed)) {
    throw new BucketPolicyError(`the policy of bucket ${bucket} is not a policy document`, { cause: result.error });
  }
  const statement = result.data.Statement;
  const statements = statement === undefined ? [] : Array.isArray(statement) ? statement : [statement];
  return { document: parsed, statements };
}

/** A policy's text, parsed. Throws BucketPolicyError, naming the bucket, when it is not a policy document. */
export function parseBucketPolicy(policy: string, bucket: string): PolicyDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch (error) {
    throw new BucketPolicyError(`the policy of bucket ${bucket} is not valid JSON`, { cause: error });
  }
  return policyDocumentOf(parsed, bucket);
}

/** The statements of a policy text; none when there is no policy. */
export function statementsOf(policy: string | null, bucket: string): JsonObject[] {
  return policy === null ? [] : parseBucketPolicy(policy, bucket).statements;
}

/**
 * The existing policy with `statement` appended, replacing an earlier statement with the same Sid. Every other
 * statement and top-level field (Id, Version) is kept, in its order.
 */
export function mergeStatement(policy: string | null, statement: JsonObject, bucket: string): string {
  if (policy === null) return JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
  const { document, statements } = parseBucketPolicy(policy, bucket);
  const kept = statements.filter((existing) => existing.Sid !== statement.Sid);
  return JSON.stringify({ ...document, Version: document.Version ?? "2012-10-17", Statement: [...kept, statement] });
}

/** The bucket's policy text, or null when it has none. Throws NoSuchBucket when the bucket is gone. */
export async function readBucketPolicy(s3: S3Client, bucket: string): Promise<string | null> {
  try {
    return (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? null;
  } catch (error) {
    if (hasErrorCode(error, "NoSuchBucketPolicy")) return null;
    throw error;
  }
}

/** Puts the policy text, or deletes the policy when `policy` is null. */
export async function writeBucketPolicy(s3: S3Client, bucket: string, policy: string | null): Promise<void> {
  if (policy === null) await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
  else await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
}

/**
 * The policy a `PutBucketPolicy` request put: CloudTrail records `requestParameters.bucketPolicy` as the policy
 * object, some writers as its JSON text. Undefined when the request does not carry a readable policy (null
 * parameters, "..." redaction, text that is not a policy).
 */
export function policyFromRequest(request: JsonValue | null | undefined): PolicyDocument | undefined {
  const raw = isJsonObject(request) ? request.bucketPolicy : undefined;
  let parsed: unknown = raw;
  if (typeof raw === "string") {
    try {
      parsed = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  if (!isJsonObject(parsed)) return undefined;
  try {
    return policyDocumentOf(parsed, "named in the request");
  } catch {
    return undefined;
  }
}

/** True for `"*"`, `{"AWS": "*"}` or `{"AWS": ["...", "*"]}`: anyone, signed or anonymous. */
export function isPublicPrincipal(principal: JsonValue | undefined): boolean {
  if (principal === "*") return true;
  if (!isJsonObject(principal)) return false;
  return stringsOf(principal.AWS).includes("*");
}

/**
 * Condition keys that tie a statement to known callers (an account, an organisation, a VPC, an address range, a
 * source resource). An Allow for `"*"` with one of them is not open to the world, as IAM Access Analyzer and
 * S3's own "public" evaluation judge it.
 */
const NARROWING_CONDITION_KEYS = new Set(
  [
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:SourceOwner",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:SourceIp",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:userid",
    "aws:username",
    "s3:DataAccessPointAccount",
    "s3:DataAccessPointArn",
  ].map((key) => key.toLowerCase()),
);

function hasNarrowingCondition(statement: JsonObject): boolean {
  const condition = objectAt(statement, "Condition");
  if (!condition) return false;
  return Object.values(condition).some(
    (operands) => isJsonObject(operands) && Object.keys(operands).some((key) => NARROWING_CONDITION_KEYS.has(key.toLowerCase())),
  );
}

/** The Allow statements that grant something to anyone, without a condition that narrows who. */
export function publicAllowStatements(statements: readonly JsonObject[]): JsonObject[] {
  return statements.filter(
    (statement) => statement.Effect === "Allow" && isPublicPrincipal(statement.Principal) && !hasNarrowingCondition(statement),
  );
}

/** What a public statement grants, in plain words for evidence: "s3:GetObject to anyone (Sid PublicRead)". */
export function describeStatementGrant(statement: JsonObject): string {
  const actions = stringsOf(statement.Action);
  const sid = stringOf(statement.Sid);
  return `${actions.length > 0 ? actions.join(", ") : "actions"} to anyone${sid ? ` (Sid ${sid})` : ""}`;
}

// ---- ACLs ----

/** The ACL groups that mean "everyone" and "anyone with an AWS account". */
export const PUBLIC_GROUP_URIS: Record<string, string> = {
  "http://acs.amazonaws.com/groups/global/AllUsers": "everyone (AllUsers)",
  "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "any AWS account (AuthenticatedUsers)",
};

/** Canned ACLs that open the bucket: `x-amz-acl` in a PutBucketAcl or CreateBucket request. */
export const PUBLIC_CANNED_ACLS: Record<string, string> = {
  "public-read": "READ to everyone (canned ACL public-read)",
  "public-read-write": "READ and WRITE to everyone (canned ACL public-read-write)",
  "authenticated-read": "READ to any AWS account (canned ACL authenticated-read)",
};

function publicGrantOf(uri: string | undefined, permission: string | undefined): string | undefined {
  const who = uri === undefined ? undefined : PUBLIC_GROUP_URIS[uri];
  return who === undefined ? undefined : `${permission ?? "access"} to ${who}`;
}

/**
 * The public grants a `PutBucketAcl` (or `CreateBucket`) request makes, in plain words: a canned `x-amz-acl`
 * (list in older records, scalar in newer), an `x-amz-grant-*` header naming a public group, or
 * `AccessControlPolicy.AccessControlList.Grant[]` (one object or a list) whose `Grantee.URI` is a public group.
 */
export function publicGrantsInRequest(request: JsonValue | null | undefined): string[] {
  if (!isJsonObject(request)) return [];
  const grants: string[] = [];
  for (const canned of stringsOf(request["x-amz-acl"])) {
    const grant = PUBLIC_CANNED_ACLS[canned];
    if (grant) grants.push(grant);
  }
  for (const [header, value] of Object.entries(request)) {
    if (!header.startsWith("x-amz-grant-")) continue;
    const permission = header.slice("x-amz-grant-".length).toUpperCase();
    for (const grantee of stringsOf(value).flatMap((text) => text.split(","))) {
      const uri = /uri="?([^"]+)"?/i.exec(grantee.trim())?.[1];
      const grant = publicGrantOf(uri, permission);
      if (grant) grants.push(grant);
    }
  }
  const acl = objectAt(request, "AccessControlPolicy", "AccessControlList");
  for (const grant of objectsOf(acl?.Grant)) {
    const described = publicGrantOf(stringOf(objectAt(grant, "Grantee")?.URI), stringOf(grant.Permission));
    if (described) grants.push(described);
  }
  return grants;
}

/** The public grants of a bucket's ACL as GetBucketAcl returns it. */
export function publicGrantsInAcl(grants: readonly Grant[] | undefined): string[] {
  return (grants ?? []).flatMap((grant) => publicGrantOf(grant.Grantee?.URI, grant.Permission) ?? []);
}

// ---- Matching actions and resources ----

/** True when one of the statement's `Action` patterns matches `action` (e.g. "s3:*" matches "s3:GetObject"). */
export function statementCoversAction(statement: JsonObject, action: string): boolean {
  return stringsOf(statement.Action).some((pattern) => matchesGlob(pattern, action, { ignoreCase: true }));
}

/** True when one of the statement's `Resource` patterns matches `arn`. */
export function statementCoversResource(statement: JsonObject, arn: string): boolean {
  return stringsOf(statement.Resource).some((pattern) => matchesGlob(pattern, arn));
}

/** The values of one condition key under one operator, whatever the case of the key ("aws:SecureTransport"). */
export function conditionValues(statement: JsonObject, operator: string, key: string): string[] {
  const operands = objectAt(statement, "Condition", operator);
  if (!operands) return [];
  const wanted = key.toLowerCase();
  const values = Object.entries(operands)
    .filter(([name]) => name.toLowerCase() === wanted)
    .map(([, value]) => value);
  // IAM condition values are strings, numbers or booleans; anything else matches nothing rather than "[object object]".
  return values
    .flatMap((value) => (Array.isArray(value) ? value : [value]))
    .filter((value) => typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    .map((value) => String(value).toLowerCase());
}
