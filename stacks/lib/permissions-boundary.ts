import { ArnFormat, Stack, type IAspect } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct, IConstruct } from "constructs";

/**
 * Actions no function of the engine may ever use, whatever is later added to its role: they would let it raise
 * its own rights (new roles, users, keys or policy versions, boundary removal), hand a key to someone else, or
 * blind the audit trail. No control applies any of them (test/infra/least-privilege.test.ts checks it).
 */
export const NEVER_ALLOWED_ACTIONS = [
  "iam:CreateRole",
  "iam:DeleteRole",
  "iam:PutRolePolicy",
  "iam:AttachRolePolicy",
  "iam:DetachRolePolicy",
  "iam:DeleteRolePolicy",
  "iam:UpdateAssumeRolePolicy",
  "iam:PutRolePermissionsBoundary",
  "iam:DeleteRolePermissionsBoundary",
  "iam:CreateUser",
  "iam:CreateAccessKey",
  "iam:CreateLoginProfile",
  "iam:UpdateLoginProfile",
  "iam:AttachUserPolicy",
  "iam:PutUserPermissionsBoundary",
  "iam:DeleteUserPermissionsBoundary",
  "iam:AddUserToGroup",
  "iam:AttachGroupPolicy",
  "iam:PutGroupPolicy",
  "iam:CreatePolicyVersion",
  "iam:SetDefaultPolicyVersion",
  "kms:PutKeyPolicy",
  "organizations:LeaveOrganization",
  "cloudtrail:DeleteTrail",
  "cloudtrail:StopLogging",
] as const;

/**
 * The role's permissions boundary, a managed policy of the stack: the ceiling is exactly what the role was
 * granted when it was built (same actions, resources and conditions), and the actions above are denied outright.
 * A grant added to the role later (a construct's `bind` or `grant*` helper) has no effect until the boundary says
 * so, and nothing can lift the denials without changing the boundary, which the denials themselves forbid.
 * Call it after the role holds all of its statements (EveryRoleHasABoundary does, at synthesis).
 */
export function permissionsBoundary(scope: Construct, id: string, role: iam.Role): iam.ManagedPolicy {
  const defaultPolicy = role.node.tryFindChild("DefaultPolicy");
  const granted = defaultPolicy instanceof iam.Policy ? grantedStatements(defaultPolicy.document) : [];
  const boundary = new iam.ManagedPolicy(scope, id, {
    description: `Permissions boundary of ${role.node.path}`,
    statements: [
      ...granted,
      ...basicExecutionStatements(role),
      new iam.PolicyStatement({
        sid: "NeverEscalateOrBlindTheTrail",
        effect: iam.Effect.DENY,
        actions: [...NEVER_ALLOWED_ACTIONS],
        resources: ["*"],
      }),
    ],
  });
  iam.PermissionsBoundary.of(role).apply(boundary);
  return boundary;
}

/**
 * Gives every role of the stack that has no boundary yet its own (permissionsBoundary): the functions' roles, and
 * the roles constructs make for themselves (SST's custom resource handler, EventBridge's forwarding role). It runs
 * at synthesis, when every grant is in place.
 */
export class EveryRoleHasABoundary implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof iam.Role)) return;
    const role = node.node.defaultChild;
    if (!(role instanceof iam.CfnRole) || role.permissionsBoundary !== undefined) return;
    permissionsBoundary(node.node.scope ?? node, `${node.node.id}Boundary`, node);
  }
}

/** A role with AWS's basic execution policy attached (constructs' own functions) keeps writing its logs. */
function basicExecutionStatements(role: iam.Role): iam.PolicyStatement[] {
  const cfn = role.node.defaultChild;
  const attached = cfn instanceof iam.CfnRole ? JSON.stringify(Stack.of(role).resolve(cfn.managedPolicyArns) ?? []) : "[]";
  if (!attached.includes("AWSLambdaBasicExecutionRole")) return [];
  return [
    new iam.PolicyStatement({
      sid: "BasicExecutionLogs",
      effect: iam.Effect.ALLOW,
      actions: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [
        Stack.of(role).formatArn({ service: "logs", resource: "log-group", resourceName: "*", arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      ],
    }),
  ];
}

interface StatementJson {
  Effect?: string;
}

function grantedStatements(document: iam.PolicyDocument): iam.PolicyStatement[] {
  const json = document.toJSON() as { Statement?: StatementJson[] } | undefined;
  return (json?.Statement ?? []).map((statement) => iam.PolicyStatement.fromJson(statement));
}
