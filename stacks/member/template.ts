import {
  App,
  Aws,
  CfnCondition,
  CfnOutput,
  CfnResource,
  DefaultStackSynthesizer,
  Duration,
  Fn,
  Stack,
  type ICfnConditionExpression,
} from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import {
  APPLYING_MODES,
  GLOBAL_EVENTS_REGION,
  eventPatternsFor,
  type GeneratedEventPattern,
  type OrganizationScope,
  type Policy,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { Construct } from "constructs";
import { forwardedPatterns, forwardingRules, regionalPatterns } from "../lib/forwarding";
import { fixedRoleName } from "../lib/functions";
import { encryptedQueue } from "../lib/queues";
import { policyControlStatements } from "../lib/control-grants";
import { permissionsBoundary } from "../lib/permissions-boundary";
import { REMEDIATOR_PURPOSES } from "../lib/remediator";

/** The SST app name (sst.config.ts): the engine's role names start with `<stage>-<app>-`. */
export const DEFAULT_APP_NAME = "hipaa-remediate";

export class MemberTemplateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MemberTemplateError";
  }
}

export interface MemberTemplateInput {
  /** The deployed policy: its scope.organization names the role, the external id and the organisation. */
  policy: Policy;
  /** The engine's region: where its bus is, and the one region whose stack instance creates the (global) IAM role. */
  homeRegion: string;
  /** The central security account that runs the engine. */
  centralAccount: string;
  /** The engine's SST stage and app name, which its role names are built from. */
  stage: string;
  appName?: string;
}

export type CloudFormationTemplate = Record<string, unknown> & { Resources: Record<string, { Type: string; Condition?: string }> };

const ACCOUNT_ID = /^\d{12}$/;

/** The ARNs of the engine's remediating roles (engine, sweep, approval worker) in the central account. */
export function engineRoleArns(input: Pick<MemberTemplateInput, "centralAccount" | "stage" | "appName">): string[] {
  const app = { stage: input.stage, name: input.appName ?? DEFAULT_APP_NAME };
  return REMEDIATOR_PURPOSES.map((purpose) => `arn:${Aws.PARTITION}:iam::${input.centralAccount}:role/${fixedRoleName(app, purpose)}`);
}

function organizationOf(policy: Policy): OrganizationScope {
  const organization = policy.scope.organization;
  if (organization === undefined) {
    throw new MemberTemplateError(
      "The policy has no scope.organization: set scope.organization.id (o-...) and externalId before generating the member-account template",
    );
  }
  return organization;
}

/** A condition, and the name of the dead-letter queue of the rules under it. */
interface ForwardingCondition {
  condition: CfnCondition;
  deadLetterName: string;
}

/** Where a pattern's events are delivered, as the stack instance's condition: us-east-1 only, elsewhere only, or both. */
interface RegionConditions {
  member: ForwardingCondition;
  globalRegionOnly: ForwardingCondition;
  otherRegionsOnly: ForwardingCondition;
}

function regionConditions(stack: Stack, centralAccount: string): RegionConditions {
  const inGlobalRegion: ICfnConditionExpression = Fn.conditionEquals(Aws.REGION, GLOBAL_EVENTS_REGION);
  // The central account's own regions forward through `deploy:regions`; a rule there would send its bus to itself.
  const member = new CfnCondition(stack, "IsMemberAccount", {
    expression: Fn.conditionNot(Fn.conditionEquals(Aws.ACCOUNT_ID, centralAccount)),
  });
  return {
    member: { condition: member, deadLetterName: "ForwardingDeadLetter" },
    globalRegionOnly: {
      condition: new CfnCondition(stack, "ForwardsGlobalRegionEvents", { expression: Fn.conditionAnd(member, inGlobalRegion) }),
      deadLetterName: "GlobalRegionForwardingDeadLetter",
    },
    otherRegionsOnly: {
      condition: new CfnCondition(stack, "ForwardsRegionalEventsOutsideGlobalRegion", {
        expression: Fn.conditionAnd(member, Fn.conditionNot(inGlobalRegion)),
      }),
      deadLetterName: "OtherRegionsForwardingDeadLetter",
    },
  };
}

function conditionFor(pattern: GeneratedEventPattern, policy: Policy, conditions: RegionConditions): ForwardingCondition {
  const inGlobalRegion = forwardedPatterns(GLOBAL_EVENTS_REGION, policy.scope).some((selected) => selected.key === pattern.key);
  const elsewhere = regionalPatterns([pattern]).length > 0;
  if (inGlobalRegion && elsewhere) return conditions.member;
  return inGlobalRegion ? conditions.globalRegionOnly : conditions.otherRegionsOnly;
}

function applyCondition(scope: Construct, condition: CfnCondition): void {
  for (const child of scope.node.findAll()) if (child instanceof CfnResource) child.cfnOptions.condition = condition;
}

/**
 * The forwarding rules, their role, and one dead-letter queue per region condition: a queue's policy names the
 * rules that may send to it, so it must never name a rule its stack instance does not create.
 */
function forwarding(stack: Stack, input: MemberTemplateInput, conditions: RegionConditions): void {
  const busArn = `arn:${Aws.PARTITION}:events:${input.homeRegion}:${input.centralAccount}:event-bus/default`;
  const destination = events.EventBus.fromEventBusArn(stack, "CentralBus", busArn);
  const role = new iam.Role(stack, "ForwardingRole", {
    assumedBy: new iam.ServicePrincipal("events.amazonaws.com"),
    description: `Forwards CloudTrail events to the hipaa-remediate bus in ${input.centralAccount} ${input.homeRegion}`,
  });
  const groups = new Map<ForwardingCondition, GeneratedEventPattern[]>();
  for (const pattern of eventPatternsFor(controls)) {
    const condition = conditionFor(pattern, input.policy, conditions);
    groups.set(condition, [...(groups.get(condition) ?? []), pattern]);
  }
  for (const [{ condition, deadLetterName }, patterns] of groups) {
    const deadLetterQueue = encryptedQueue(stack, deadLetterName, { retentionPeriod: Duration.days(14) });
    const rules = forwardingRules(stack, {
      patterns,
      destination,
      destinationName: `the central account's bus in ${input.homeRegion}`,
      role,
      deadLetterQueue,
    });
    for (const construct of [deadLetterQueue, ...rules]) applyCondition(construct, condition);
  }
  // After the rules: their targets add the role's policy (events:PutEvents on the central bus) as they bind.
  permissionsBoundary(role, "Boundary", role);
  applyCondition(role, conditions.member.condition);
}

/**
 * The role the engine assumes in this account. IAM is global, so only the home region's stack instance creates it.
 * The trust policy names the central account and narrows it to the engine's own roles by aws:PrincipalArn rather
 * than naming the roles as principals: IAM would otherwise reject the template in any account deployed before the
 * engine, and silently stop trusting a role that is deleted and re-created. ExternalId and the organisation are
 * required too, so a role of the same name in another account or organisation can never assume it.
 */
function remediationRole(stack: Stack, input: MemberTemplateInput, organization: OrganizationScope): void {
  const inHomeRegion = new CfnCondition(stack, "CreatesRemediationRole", { expression: Fn.conditionEquals(Aws.REGION, input.homeRegion) });
  const role = new iam.Role(stack, "RemediationRole", {
    roleName: organization.memberRole,
    description: `Assumed by the hipaa-remediate engine (${input.stage}) in ${input.centralAccount} to remediate this account`,
    assumedBy: new iam.PrincipalWithConditions(new iam.AccountPrincipal(input.centralAccount), {
      StringEquals: { "sts:ExternalId": organization.externalId, "aws:PrincipalOrgID": organization.id },
      ArnEquals: { "aws:PrincipalArn": engineRoleArns(input) },
    }),
    maxSessionDuration: Duration.hours(1),
  });
  // The same policy -> IAM function as the engine's own roles, for the union of what the engine, the sweep and the
  // approval worker apply (approve and auto modes); conditions on the account resolve to this member account.
  for (const statement of policyControlStatements(stack, controls, input.policy, APPLYING_MODES.approved))
    role.addToPrincipalPolicy(statement);
  permissionsBoundary(role, "Boundary", role);
  applyCondition(role, inHomeRegion);
  new CfnOutput(stack, "RemediationRoleArn", { value: role.roleArn, condition: inHomeRegion });
}

/**
 * The member-account template, generated from the catalog and the policy: forwarding rules to the central bus and
 * the remediation role. It has no parameters and no assets, so a service-managed StackSet can deploy it as is.
 */
export function memberTemplate(input: MemberTemplateInput): CloudFormationTemplate {
  if (!ACCOUNT_ID.test(input.centralAccount)) {
    throw new MemberTemplateError(`central account: "${input.centralAccount}" is not a 12-digit AWS account id`);
  }
  const organization = organizationOf(input.policy);
  const app = new App({ analyticsReporting: false });
  const stack = new Stack(app, "HipaaRemediateMember", {
    description: `hipaa-remediate member account: forwards CloudTrail events to ${input.centralAccount} (${input.homeRegion}) and lets its engine remediate here`,
    synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
  });
  const conditions = regionConditions(stack, input.centralAccount);
  forwarding(stack, input, conditions);
  remediationRole(stack, input, organization);
  const template: unknown = app.synth().getStackArtifact(stack.artifactId).template;
  return template as CloudFormationTemplate;
}
