import {
  AddPermissionCommand,
  FunctionUrlAuthType,
  GetFunctionConfigurationCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  RemovePermissionCommand,
  UpdateFunctionUrlConfigCommand,
  type LambdaClient,
} from "@aws-sdk/client-lambda";
import { CATEGORIES, isJsonObject, type ChangeEvent, type JsonValue, type LiveContext, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { isNotFound } from "./lib/aws-errors";
import { objectsOf, stringOf, stringsOf } from "./lib/json-fields";
import { lambdaFunctionName, lambdaFunctionRef, lambdaFunctions } from "./lib/lambda";
import { defineSettingControl } from "./lib/setting-control";

/** One statement of a function's resource policy that lets anyone invoke it. */
export type PublicStatement = { sid: string; action: string };

/** What makes a function public: wildcard-principal statements, and a function URL without IAM auth. */
export type FunctionExposure = {
  publicStatements: PublicStatement[];
  /** The function URL's auth type; null when the function has no URL (or, offline, when the event does not say). */
  urlAuthType: string | null;
};

const exposureSchema: z.ZodType<FunctionExposure> = z.object({
  publicStatements: z.array(z.object({ sid: z.string().min(1), action: z.string().min(1) })),
  urlAuthType: z.string().nullable(),
});

/**
 * Condition keys that limit a wildcard principal to one caller (a bucket, an account, an organisation): a statement
 * with any of them is not public. Compared case-insensitively, as IAM does.
 */
const NARROWING_CONDITION_KEYS = new Set(
  [
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:SourceOwner",
    "aws:PrincipalOrgID",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:SourceOrgID",
  ].map((key) => key.toLowerCase()),
);
/** The function URL's own permission is conditioned on the URL's auth type, which the URL fix governs. */
const URL_AUTH_CONDITION_KEY = "lambda:functionurlauthtype";

function conditionKeys(condition: JsonValue | undefined): string[] {
  if (!isJsonObject(condition)) return [];
  return Object.values(condition).flatMap((operator) => (isJsonObject(operator) ? Object.keys(operator).map((k) => k.toLowerCase()) : []));
}

function isWildcardPrincipal(principal: JsonValue | undefined): boolean {
  if (stringOf(principal) === "*") return true;
  return isJsonObject(principal) && stringsOf(principal.AWS).includes("*");
}

/** The statements of a resource policy document that let anyone invoke the function. */
export function publicStatementsOf(policy: unknown): PublicStatement[] {
  if (!isJsonObject(policy)) return [];
  return objectsOf(policy.Statement).flatMap((statement) => {
    if (statement.Effect !== "Allow" || !isWildcardPrincipal(statement.Principal)) return [];
    const keys = conditionKeys(statement.Condition);
    if (keys.some((key) => NARROWING_CONDITION_KEYS.has(key) || key === URL_AUTH_CONDITION_KEY)) return [];
    const sid = stringOf(statement.Sid);
    const action = stringsOf(statement.Action)[0];
    return sid && action ? [{ sid, action }] : [];
  });
}

async function readPolicy(lambda: LambdaClient, name: string): Promise<unknown> {
  try {
    const { Policy: policy } = await lambda.send(new GetPolicyCommand({ FunctionName: name }));
    return policy ? (JSON.parse(policy) as unknown) : undefined;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    // Lambda answers ResourceNotFound both for a function without a policy and for a function that is gone.
    await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    return undefined;
  }
}

async function readUrlAuthType(lambda: LambdaClient, name: string): Promise<string | null> {
  try {
    return (await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: name }))).AuthType ?? null;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

async function readExposure(ref: ResourceRef, ctx: LiveContext): Promise<FunctionExposure> {
  const lambda = await ctx.aws.lambda(ref.region);
  const policy = await readPolicy(lambda, ref.id);
  return { publicStatements: publicStatementsOf(policy), urlAuthType: await readUrlAuthType(lambda, ref.id) };
}

/**
 * Brings the function to `target`: removes public statements `target` does not hold, adds back those it holds that
 * are missing (rollback), and sets the URL's auth type. Public statements carry no condition, so Sid, action and
 * the wildcard principal recreate them exactly.
 */
async function converge(ref: ResourceRef, target: FunctionExposure, ctx: LiveContext): Promise<void> {
  const lambda = await ctx.aws.lambda(ref.region);
  const current = await readExposure(ref, ctx);
  const wanted = new Set(target.publicStatements.map((statement) => statement.sid));
  const present = new Set(current.publicStatements.map((statement) => statement.sid));
  for (const statement of current.publicStatements) {
    if (!wanted.has(statement.sid)) await lambda.send(new RemovePermissionCommand({ FunctionName: ref.id, StatementId: statement.sid }));
  }
  for (const statement of target.publicStatements) {
    if (!present.has(statement.sid)) {
      await lambda.send(
        new AddPermissionCommand({ FunctionName: ref.id, StatementId: statement.sid, Action: statement.action, Principal: "*" }),
      );
    }
  }
  if (target.urlAuthType !== null && current.urlAuthType !== null && target.urlAuthType !== current.urlAuthType) {
    await lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: ref.id, AuthType: target.urlAuthType as FunctionUrlAuthType }));
  }
}

function functionOfEvent(event: ChangeEvent): ResourceRef[] {
  const name = lambdaFunctionName(stringOf(event.request?.functionName));
  return name ? [lambdaFunctionRef(name, event.account, event.region)] : [];
}

/** What the request made public, offline; undefined when the event does not say (no principal or auth type recorded). */
export function exposureFromEvent(event: ChangeEvent): FunctionExposure | undefined {
  const request = event.request;
  if (!request) return undefined;
  if (event.name.startsWith("AddPermission")) {
    const principal = stringOf(request.principal);
    if (principal === undefined) return undefined;
    const narrowed = ["sourceArn", "sourceAccount", "principalOrgID", "functionUrlAuthType"].some(
      (field) => stringOf(request[field]) !== undefined,
    );
    const sid = stringOf(request.statementId);
    const isPublic = principal === "*" && !narrowed && sid !== undefined;
    return {
      publicStatements: isPublic ? [{ sid, action: stringOf(request.action) ?? "lambda:InvokeFunction" }] : [],
      urlAuthType: null,
    };
  }
  const authType = stringOf(request.authType);
  return authType === undefined ? undefined : { publicStatements: [], urlAuthType: authType };
}

function describeExposure(exposure: FunctionExposure): string {
  const parts: string[] = [];
  if (exposure.publicStatements.length > 0) {
    parts.push(`invocable by anyone through ${exposure.publicStatements.map((s) => `statement ${s.sid} (${s.action})`).join(", ")}`);
  }
  if (exposure.urlAuthType !== null) parts.push(`function URL auth ${exposure.urlAuthType}`);
  return parts.length > 0 ? parts.join("; ") : "not public";
}

const LAMBDA = "lambda.amazonaws.com";

/**
 * A Lambda function anyone can invoke: a resource-policy statement for principal "*" without a source or
 * organisation condition, or a function URL with auth type NONE. The fix removes those statements and sets the
 * URL's auth type to AWS_IAM; rollback puts both back.
 */
export const control = defineSettingControl<Record<string, never>, FunctionExposure>({
  id: "lambda-function-public",
  title: "Lambda functions cannot be invoked by anyone",
  category: "public-exposure",
  hipaa: {
    sections: [...CATEGORIES["public-exposure"].hipaa],
    why: "A function anyone can invoke runs with its role's access to ePHI on behalf of unauthenticated callers, defeating access control (164.312(a)(1)).",
  },
  severity: "high",
  defaultMode: "approve",
  options: z.strictObject({}).prefault({}),
  // CloudTrail records Lambda's API names with their version suffix; both AddPermission versions are seen in the wild.
  triggers: [
    { source: LAMBDA, name: "AddPermission20150331v2", resources: functionOfEvent },
    { source: LAMBDA, name: "AddPermission20150331", resources: functionOfEvent },
    { source: LAMBDA, name: "CreateFunctionUrlConfig20211031", resources: functionOfEvent },
    { source: LAMBDA, name: "UpdateFunctionUrlConfig20211031", resources: functionOfEvent },
  ],
  permissions: {
    detect: [
      "lambda:ListFunctions",
      "lambda:ListTags",
      "lambda:GetPolicy",
      "lambda:GetFunctionConfiguration",
      "lambda:GetFunctionUrlConfig",
    ],
    apply: [
      "lambda:GetPolicy",
      "lambda:GetFunctionConfiguration",
      "lambda:GetFunctionUrlConfig",
      "lambda:RemovePermission",
      "lambda:UpdateFunctionUrlConfig",
    ],
    rollback: [
      "lambda:GetPolicy",
      "lambda:GetFunctionConfiguration",
      "lambda:GetFunctionUrlConfig",
      "lambda:AddPermission",
      "lambda:UpdateFunctionUrlConfig",
    ],
  },
  kind: lambdaFunctions,
  setting: exposureSchema,

  read: readExposure,
  write: converge,
  shortfall(current) {
    const isPublic = current.publicStatements.length > 0 || current.urlAuthType === FunctionUrlAuthType.NONE;
    return isPublic ? `is ${describeExposure(current)}` : undefined;
  },
  required: (current) => ({
    publicStatements: [],
    urlAuthType: current.urlAuthType === null ? null : FunctionUrlAuthType.AWS_IAM,
  }),
  describe: describeExposure,
  summarise: (ref) =>
    `Stop anyone from invoking Lambda function ${ref.id}: remove its public permission statements and require IAM auth on its URL.`,
  notes: (ref) => [
    `Callers of ${ref.id} that relied on public access (anonymous HTTP clients of the URL, other accounts without a narrower statement) lose the ability to invoke it; its own role and IAM-authorised callers keep it.`,
    'Rollback adds the removed statements back (same Sid, action and principal "*") and sets the URL\'s auth type back to NONE.',
  ],
  fromEvent: (event) => exposureFromEvent(event),
});
