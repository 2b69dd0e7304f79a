import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GLOBAL_EVENT_SOURCES,
  defaultPolicy,
  eventPatternsFor,
  isGlobalEventSource,
  parsePolicy,
  type Policy,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORGANIZATION_BUS_STATEMENT_ID } from "../../stacks/OrganizationBus";
import { deploymentRegions, forwardedPatterns } from "../../stacks/lib/forwarding";
import { deployCommands, stackSetCommands, stackSetName } from "../../stacks/lib/rollout";
import { SettingsError } from "../../stacks/lib/settings";
import { MemberTemplateError, engineRoleArns, memberTemplate, type CloudFormationTemplate } from "../../stacks/member/template";
import { cfnLint, ensureCfnLintInstalled, type CfnLintMatch } from "../support/cfn-lint";
import { buildApp, synthesise, TEST_ACCOUNT, type Synthesised } from "./synth";
import { actionsOf, functionByHandler, props, resources, type Statement } from "./template-queries";

/**
 * Three accounts (the central security account and two members) and three regions: the engine at home in
 * eu-west-1, forwarders in eu-central-1 and us-west-2, us-east-1 for global services only (outside the scope).
 */
const HOME = "eu-west-1";
const SCOPE_REGIONS = [HOME, "eu-central-1", "us-west-2"];
const CENTRAL = TEST_ACCOUNT;
const MEMBERS = ["222233334444", "333344445555"];
const ORG_ID = "o-a1b2c3d4e5";
const EXTERNAL_ID = "hipaa-remediate-infra-7f3a";
const MEMBER_ROLE = "hipaa-remediate-member";
const STAGE = "infra-org";
const POLICY = [
  "defaultMode: approve",
  "scope:",
  `  regions: [${SCOPE_REGIONS.join(", ")}]`,
  "  organization:",
  `    id: ${ORG_ID}`,
  `    memberRole: ${MEMBER_ROLE}`,
  `    externalId: ${EXTERNAL_ID}`,
  `    accounts: [${[CENTRAL, ...MEMBERS].map((account) => `"${account}"`).join(", ")}]`,
  "",
].join("\n");

const HOME_BUS = { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:events:${HOME}:${CENTRAL}:event-bus/default`]] };

interface RuleProps {
  EventPattern: { source?: string[]; detail: { eventSource?: string[]; eventName?: string[]; userIdentity?: unknown } };
  Targets: { Arn: unknown; RoleArn?: unknown; DeadLetterConfig?: { Arn: unknown } }[];
}

interface RoleProps {
  RoleName?: string;
  AssumeRolePolicyDocument: { Statement: Statement[] };
  Policies?: { PolicyName: string; PolicyDocument: { Statement: Statement[] } }[];
}

/** "<eventSource> <eventName>" for source/name patterns, "identity" for identity patterns. */
function patternKeys(rules: RuleProps[]): string[] {
  return rules
    .flatMap(({ EventPattern: { detail } }) =>
      detail.userIdentity !== undefined
        ? ["identity"]
        : (detail.eventSource ?? []).flatMap((source) => (detail.eventName ?? []).map((name) => `${source} ${name}`)),
    )
    .sort();
}

function expectedKeys(selectGlobal: (global: boolean) => boolean): string[] {
  return eventPatternsFor(controls)
    .filter((pattern) => pattern.kind === "identity" || selectGlobal(isGlobalEventSource(pattern.eventSource)))
    .flatMap((pattern) =>
      pattern.kind === "identity"
        ? ["identity"]
        : pattern.pattern.detail.eventSource.flatMap((source) => pattern.pattern.detail.eventName.map((name) => `${source} ${name}`)),
    )
    .sort();
}

function templateResources(
  template: CloudFormationTemplate,
  type: string,
): [string, { Type: string; Condition?: string; Properties?: Record<string, unknown> }][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

let policyDir: string;
let policy: Policy;
let home: Synthesised;
const forwarders = new Map<string, Synthesised>();
let member: CloudFormationTemplate;

beforeAll(async () => {
  policyDir = mkdtempSync(join(tmpdir(), "hipaa-infra-org-"));
  const policyFile = join(policyDir, "policy.yaml");
  writeFileSync(policyFile, POLICY);
  policy = parsePolicy(POLICY, "policy.yaml", controls);
  // sweepRegions undefined: the sweep defaults to the scope's regions.
  home = await synthesise({ stage: STAGE, region: HOME, settings: { policyFile, sweepRegions: undefined } });
  for (const region of deploymentRegions(HOME, policy.scope).slice(1)) {
    forwarders.set(region, await synthesise({ stage: STAGE, region, settings: { homeRegion: HOME, policyFile } }));
  }
  member = memberTemplate({ policy, homeRegion: HOME, centralAccount: CENTRAL, stage: STAGE });
});

afterAll(() => {
  rmSync(policyDir, { recursive: true, force: true });
});

describe("every region", () => {
  it("deploys home first, then every other scope region and us-east-1 for global services", () => {
    expect(deploymentRegions(HOME, policy.scope)).toEqual([HOME, "eu-central-1", "us-west-2", "us-east-1"]);
    expect(deploymentRegions("us-east-1", { regions: ["us-east-1", "eu-west-1"] })).toEqual(["us-east-1", "eu-west-1"]);
    expect(deployCommands("prod", HOME, ["eu-west-1", "us-east-1"])).toEqual([
      {
        region: "eu-west-1",
        command: "npx",
        args: ["sst", "deploy", "--stage", "prod", "--region", "eu-west-1"],
        env: { HIPAA_HOME_REGION: HOME },
      },
      {
        region: "us-east-1",
        command: "npx",
        args: ["sst", "deploy", "--stage", "prod", "--region", "us-east-1"],
        env: { HIPAA_HOME_REGION: HOME },
      },
    ]);
  });

  it("forwards each scope region's regional triggers and root activity, generated from the catalog, to the home bus", () => {
    for (const region of ["eu-central-1", "us-west-2"]) {
      const forwarder = forwarders.get(region);
      expect(forwarder?.stackIds).toEqual(["RegionEvents"]);
      const template = forwarder?.template("RegionEvents");
      if (template === undefined) throw new Error(`no forwarder for ${region}`);
      const rules = resources(template, "AWS::Events::Rule").map(([, rule]) => props<RuleProps>(rule));
      expect(patternKeys(rules)).toEqual(expectedKeys((global) => !global));
      for (const rule of rules) {
        expect(rule.Targets).toHaveLength(1);
        expect(rule.Targets[0]?.Arn).toEqual(HOME_BUS);
        expect(rule.Targets[0]?.DeadLetterConfig).toBeDefined();
      }
    }
  });

  it("keeps us-east-1 forwarding global services' events only, as it is outside the scope", () => {
    const template = forwarders.get("us-east-1")?.template("GlobalEvents");
    if (template === undefined) throw new Error("no us-east-1 forwarder");
    const rules = resources(template, "AWS::Events::Rule").map(([, rule]) => props<RuleProps>(rule));
    expect(patternKeys(rules)).toEqual(expectedKeys((global) => global));
    expect(patternKeys(rules).some((key) => GLOBAL_EVENT_SOURCES.some((source) => key.startsWith(source)))).toBe(true);
  });

  it("has us-east-1 forward its regional triggers too when the scope lists it", () => {
    const keys = forwardedPatterns("us-east-1", { regions: "all-enabled" }).map((pattern) => pattern.key);
    expect(keys.sort()).toEqual(
      eventPatternsFor(controls)
        .map((pattern) => pattern.key)
        .sort(),
    );
    expect(forwardedPatterns("ap-south-1", { regions: ["eu-west-1"] })).toEqual([]);
  });

  it("sweeps the scope's regions by default", () => {
    const { fn } = functionByHandler(home.template("Sweep"), "packages/functions/src/sweep.handler");
    expect(fn.Environment?.Variables).toHaveProperty("SWEEP_REGIONS", SCOPE_REGIONS.join(","));
  });

  it("refuses to deploy to a region outside the scope, naming the regions it can deploy to", async () => {
    const policyFile = join(policyDir, "policy.yaml");
    await expect(
      buildApp({ stage: "infra-org-wrong", region: "ap-southeast-2", settings: { homeRegion: HOME, policyFile } }),
    ).rejects.toThrow(
      new SettingsError(
        "The app region ap-southeast-2 is neither the home region (eu-west-1) nor a region the policy's scope.regions lists " +
          "(or us-east-1, where global services' events are forwarded from). Deploy with one of --region " +
          "eu-west-1, eu-central-1, us-west-2, us-east-1, or add ap-southeast-2 to scope.regions",
      ),
    );
  });
});

describe("every account: the central bus", () => {
  it("accepts PutEvents from the organisation's accounts only", () => {
    expect(home.stackIds).toContain("OrganizationBus");
    const policies = resources(home.template("OrganizationBus"), "AWS::Events::EventBusPolicy").map(([, resource]) =>
      props<Record<string, unknown>>(resource),
    );
    expect(policies).toEqual([
      {
        EventBusName: "default",
        StatementId: ORGANIZATION_BUS_STATEMENT_ID,
        Statement: {
          Sid: ORGANIZATION_BUS_STATEMENT_ID,
          Effect: "Allow",
          Principal: "*",
          Action: "events:PutEvents",
          Resource: HOME_BUS,
          Condition: { StringEquals: { "aws:PrincipalOrgID": ORG_ID } },
        },
      },
    ]);
  });
});

describe("every account: the member template", () => {
  it("is ready for a service-managed StackSet: no parameters, assets or bootstrap rule", () => {
    expect(member).not.toHaveProperty("Parameters");
    expect(member).not.toHaveProperty("Rules");
    expect(JSON.stringify(member)).not.toContain("cdk-");
    expect(Object.values(member.Resources).map((resource) => resource.Type)).not.toContain("AWS::CDK::Metadata");
  });

  it("forwards every generated pattern to the central bus, global services' from us-east-1 only, never in the central account", () => {
    const rules = templateResources(member, "AWS::Events::Rule");
    const centralBus = { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:events:${HOME}:${CENTRAL}:event-bus/default`]] };
    expect(patternKeys(rules.map(([, rule]) => rule.Properties as unknown as RuleProps))).toEqual(expectedKeys(() => true));
    for (const [, rule] of rules) {
      const { Targets, EventPattern } = rule.Properties as unknown as RuleProps;
      expect(Targets).toEqual([
        expect.objectContaining({ Arn: centralBus, RoleArn: expect.anything(), DeadLetterConfig: expect.anything() }),
      ]);
      const global = (EventPattern.detail.eventSource ?? []).some(isGlobalEventSource);
      const identity = EventPattern.detail.userIdentity !== undefined;
      // us-east-1 is outside this scope: its regional events are not forwarded, global and root ones are.
      expect(rule.Condition).toBe(
        identity ? "IsMemberAccount" : global ? "ForwardsGlobalRegionEvents" : "ForwardsRegionalEventsOutsideGlobalRegion",
      );
    }
    expect(member.Conditions).toEqual({
      IsMemberAccount: { "Fn::Not": [{ "Fn::Equals": [{ Ref: "AWS::AccountId" }, CENTRAL] }] },
      ForwardsGlobalRegionEvents: {
        "Fn::And": [{ Condition: "IsMemberAccount" }, { "Fn::Equals": [{ Ref: "AWS::Region" }, "us-east-1"] }],
      },
      ForwardsRegionalEventsOutsideGlobalRegion: {
        "Fn::And": [{ Condition: "IsMemberAccount" }, { "Fn::Not": [{ "Fn::Equals": [{ Ref: "AWS::Region" }, "us-east-1"] }] }],
      },
      CreatesRemediationRole: { "Fn::Equals": [{ Ref: "AWS::Region" }, HOME] },
    });
    // The forwarding role's policy; the remediation role's (condition CreatesRemediationRole) is checked below.
    const forwardingPolicies = templateResources(member, "AWS::IAM::Policy").filter(([, policy]) => policy.Condition === "IsMemberAccount");
    expect(forwardingPolicies).toHaveLength(1);
    const [[, forwardingPolicy] = ["", { Type: "" }]] = forwardingPolicies;
    expect((forwardingPolicy.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement).toEqual([
      { Action: "events:PutEvents", Effect: "Allow", Resource: centralBus },
    ]);
  });

  it("creates the remediation role once per account, trusted only by the engine's roles with the external id and the organisation", () => {
    const roles = templateResources(member, "AWS::IAM::Role").filter(
      ([, role]) => (role.Properties as unknown as RoleProps).RoleName === MEMBER_ROLE,
    );
    expect(roles).toHaveLength(1);
    const [[, role] = ["", { Type: "" }]] = roles;
    expect(role.Condition).toBe("CreatesRemediationRole");
    const { AssumeRolePolicyDocument } = role.Properties as unknown as RoleProps;
    const engineArns = engineRoleArns({ centralAccount: CENTRAL, stage: STAGE }).map((arn) => ({
      "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, arn.slice(arn.indexOf(":iam::"))]],
    }));
    expect(engineArns).toHaveLength(3);
    expect(AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: "sts:AssumeRole",
        Effect: "Allow",
        Principal: { AWS: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, `:iam::${CENTRAL}:root`]] } },
        Condition: {
          StringEquals: { "sts:ExternalId": EXTERNAL_ID, "aws:PrincipalOrgID": ORG_ID },
          ArnEquals: { "aws:PrincipalArn": engineArns },
        },
      },
    ]);
    expect(JSON.stringify(engineArns)).toContain(`:role/${STAGE}-hipaa-remediate-engine`);
  });

  it("gives the remediation role the approval worker's control grants (approve and auto modes), with a permissions boundary", () => {
    const [[roleId, role] = ["", { Type: "" }]] = templateResources(member, "AWS::IAM::Role").filter(
      ([, candidate]) => (candidate.Properties as unknown as RoleProps).RoleName === MEMBER_ROLE,
    );
    const attached = templateResources(member, "AWS::IAM::Policy").filter(([, policy]) =>
      JSON.stringify(policy.Properties).includes(`"${roleId}"`),
    );
    expect(attached.map(([, policy]) => policy.Condition)).toEqual(["CreatesRemediationRole"]);
    const memberStatements = attached.flatMap(
      ([, policy]) => (policy.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement,
    );
    // The worker applies approve- and auto-mode fixes, like the union of the engine's, the sweep's and its own roles.
    const approvals = home.template("Approvals");
    const { roleId: workerRoleId } = functionByHandler(approvals, "packages/functions/src/approval-worker.handler");
    const workerStatements = resources(approvals, "AWS::IAM::Policy")
      .filter(([, resource]) => JSON.stringify(props<{ Roles: unknown }>(resource).Roles).includes(`"${workerRoleId}"`))
      .flatMap(([, resource]) => props<{ PolicyDocument: { Statement: Statement[] } }>(resource).PolicyDocument.Statement);
    expect(memberStatements.length).toBeGreaterThan(0);
    for (const statement of memberStatements) {
      const same = workerStatements.find((candidate) => candidate.Sid === statement.Sid);
      expect(same, `the worker has statement ${statement.Sid}`).toBeDefined();
      expect(actionsOf(statement)).toEqual(actionsOf(same ?? statement));
      expect(statement.Effect).toBe(same?.Effect);
      for (const action of actionsOf(statement)) expect(action).not.toContain("*");
    }
    // defaultMode approve: apply actions are granted, rollback-only ones are not (rollback runs from the CLI).
    const actions = new Set(memberStatements.flatMap(actionsOf));
    const applyOnly = controls.flatMap((control) => control.permissions.apply);
    expect(applyOnly.some((action) => actions.has(action))).toBe(true);
    const { PermissionsBoundary } = role.Properties as { PermissionsBoundary?: { Ref: string } };
    expect(PermissionsBoundary?.Ref).toBeDefined();
    expect(member.Resources[PermissionsBoundary?.Ref ?? ""]).toMatchObject({
      Type: "AWS::IAM::ManagedPolicy",
      Condition: "CreatesRemediationRole",
    });
  });

  it("refuses a policy without an organisation, and a malformed central account", () => {
    expect(() => memberTemplate({ policy: defaultPolicy(controls), homeRegion: HOME, centralAccount: CENTRAL, stage: STAGE })).toThrow(
      new MemberTemplateError(
        "The policy has no scope.organization: set scope.organization.id (o-...) and externalId before generating the member-account template",
      ),
    );
    expect(() => memberTemplate({ policy, homeRegion: HOME, centralAccount: "1234", stage: STAGE })).toThrow(
      'central account: "1234" is not a 12-digit AWS account id',
    );
  });

  it("documents a StackSet rollout to the listed accounts in every region, home first", () => {
    const organization = policy.scope.organization;
    if (organization === undefined) throw new Error("the test policy has an organisation");
    const [createSet, createInstances] = stackSetCommands({
      stage: "prod",
      templateFile: "member.json",
      regions: deploymentRegions(HOME, policy.scope),
      organization,
      centralAccount: CENTRAL,
    });
    expect(createSet).toContain(`--stack-set-name ${stackSetName("prod")} --template-body file://member.json`);
    expect(createSet).toContain("--permission-model SERVICE_MANAGED --auto-deployment Enabled=true");
    expect(createSet).toContain("CAPABILITY_NAMED_IAM");
    expect(createInstances).toContain(`Accounts=${[CENTRAL, ...MEMBERS].join(",")},AccountFilterType=INTERSECTION`);
    expect(createInstances).toContain("--regions eu-west-1 eu-central-1 us-west-2 us-east-1 ");
    const [, everyAccount] = stackSetCommands({
      stage: "prod",
      templateFile: "m.json",
      regions: [HOME],
      organization: { accounts: "all" },
      centralAccount: CENTRAL,
    });
    expect(everyAccount).toContain(`OrganizationalUnitIds=<ou-ids>,Accounts=${CENTRAL},AccountFilterType=DIFFERENCE`);
  });
});

/** cfn-lint's Lambda runtime rules: end of life reached (W2531), creation blocked (E2531), updates blocked (E2533). */
const DEPRECATED_RUNTIME_RULES = new Set(["W2531", "E2531", "E2533"]);

describe("cfn-lint on every synthesised template", () => {
  function lintFindings(): { region: string; findings: CfnLintMatch[] }[] {
    const dir = mkdtempSync(join(policyDir, "templates-"));
    const byRegion = new Map<string, string[]>();
    const write = (region: string, name: string, template: unknown) => {
      const file = join(dir, `${region}-${name}.json`);
      writeFileSync(file, JSON.stringify(template));
      byRegion.set(region, [...(byRegion.get(region) ?? []), file]);
    };
    for (const id of home.stackIds) write(HOME, id, home.template(id).toJSON());
    for (const [region, forwarder] of forwarders) for (const id of forwarder.stackIds) write(region, id, forwarder.template(id).toJSON());
    for (const region of deploymentRegions(HOME, policy.scope)) write(region, "member", member);
    return [...byRegion].map(([region, files]) => ({ region, findings: cfnLint(files, region) }));
  }

  it("reports no error and no deprecated runtime for the home stacks, every forwarder and the member template", () => {
    ensureCfnLintInstalled();
    const linted = lintFindings();
    expect(linted.map(({ region }) => region).sort()).toEqual(deploymentRegions(HOME, policy.scope).sort());
    const problems = linted.flatMap(({ findings }) =>
      findings
        .filter((finding) => finding.Level === "Error" || finding.Rule.Id.startsWith("E") || DEPRECATED_RUNTIME_RULES.has(finding.Rule.Id))
        .map((finding) => `${finding.Rule.Id} ${finding.Filename} ${(finding.Location.Path ?? []).join("/")}: ${finding.Message}`),
    );
    expect(problems).toEqual([]);
  }, 600_000);
});
