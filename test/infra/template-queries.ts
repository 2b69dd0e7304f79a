import type { Template } from "aws-cdk-lib/assertions";

/** A CloudFormation resource as Template.toJSON() renders it. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Principal?: unknown;
}

interface PolicyDocument {
  Statement: Statement[];
}

export function resources(template: Template, type?: string): [string, CfnResource][] {
  const all = Object.entries((template.toJSON() as { Resources?: Record<string, CfnResource> }).Resources ?? {});
  return type === undefined ? all : all.filter(([, resource]) => resource.Type === type);
}

export function props<T>(resource: CfnResource): T {
  return (resource.Properties ?? {}) as T;
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export function resourcesOf(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** Identity policies: AWS::IAM::Policy, AWS::IAM::ManagedPolicy and roles' inline policies. */
export function identityStatements(template: Template): { where: string; statement: Statement }[] {
  const found: { where: string; statement: Statement }[] = [];
  for (const [id, resource] of resources(template)) {
    const documents: PolicyDocument[] = [];
    if (resource.Type === "AWS::IAM::Policy" || resource.Type === "AWS::IAM::ManagedPolicy") {
      documents.push(props<{ PolicyDocument: PolicyDocument }>(resource).PolicyDocument);
    }
    if (resource.Type === "AWS::IAM::Role") {
      documents.push(...(props<{ Policies?: { PolicyDocument: PolicyDocument }[] }>(resource).Policies ?? []).map((p) => p.PolicyDocument));
    }
    for (const document of documents) for (const statement of document.Statement) found.push({ where: id, statement });
  }
  return found;
}

/** Resource policies: queue policies. */
export function resourcePolicyStatements(template: Template): { where: string; statement: Statement }[] {
  return resources(template, "AWS::SQS::QueuePolicy").flatMap(([id, resource]) =>
    props<{ PolicyDocument: PolicyDocument }>(resource).PolicyDocument.Statement.map((statement) => ({ where: id, statement })),
  );
}

/** Every statement attached to one role, inline or through AWS::IAM::Policy. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const role = resources(template, "AWS::IAM::Role").find(([id]) => id === roleId)?.[1];
  if (role === undefined) throw new Error(`No role ${roleId}`);
  const inline = (props<{ Policies?: { PolicyDocument: PolicyDocument }[] }>(role).Policies ?? []).flatMap(
    (p) => p.PolicyDocument.Statement,
  );
  const attached = resources(template, "AWS::IAM::Policy")
    .filter(([, policy]) => JSON.stringify(props<{ Roles?: unknown[] }>(policy).Roles ?? []).includes(`"${roleId}"`))
    .flatMap(([, policy]) => props<{ PolicyDocument: PolicyDocument }>(policy).PolicyDocument.Statement);
  return [...inline, ...attached];
}

export interface LambdaProps {
  Handler: string;
  Runtime: string;
  Architectures?: string[];
  Timeout?: number;
  Role: { "Fn::GetAtt": [string, string] };
  Environment?: { Variables: Record<string, unknown> };
}

/** Functions built from this project's handlers (SST's own custom-resource handler excluded). */
export function projectFunctions(template: Template): [string, LambdaProps][] {
  return resources(template, "AWS::Lambda::Function")
    .map(([id, resource]): [string, LambdaProps] => [id, props<LambdaProps>(resource)])
    .filter(([, fn]) => typeof fn.Handler === "string" && fn.Handler.startsWith("packages/functions/"));
}

export function functionByHandler(template: Template, handler: string): { id: string; fn: LambdaProps; roleId: string } {
  const match = projectFunctions(template).find(([, fn]) => fn.Handler === handler);
  if (match === undefined) throw new Error(`No function with handler ${handler}`);
  const [id, fn] = match;
  return { id, fn, roleId: fn.Role["Fn::GetAtt"][0] };
}
