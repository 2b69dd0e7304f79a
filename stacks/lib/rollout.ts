import type { OrganizationScope } from "@hipaa-remediate/core";

/** One `sst deploy` of the app into one region. */
export interface DeployCommand {
  region: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * One `sst deploy` per region, in the given order (home first). HIPAA_HOME_REGION is passed explicitly to every run,
 * or each forwarder region would take itself for home (sst.config.ts defaults home to the app region).
 */
export function deployCommands(stage: string, homeRegion: string, regions: readonly string[]): DeployCommand[] {
  return regions.map((region) => ({
    region,
    command: "npx",
    args: ["sst", "deploy", "--stage", stage, "--region", region],
    env: { HIPAA_HOME_REGION: homeRegion },
  }));
}

export interface StackSetRollout {
  stage: string;
  templateFile: string;
  /** Home first: its instance creates the member role, which is global. */
  regions: readonly string[];
  organization: Pick<OrganizationScope, "accounts">;
  centralAccount: string;
}

export function stackSetName(stage: string): string {
  return `hipaa-remediate-member-${stage}`;
}

/**
 * The AWS CLI commands that roll the member template out as a service-managed StackSet: every account of the
 * organisational units (or only the policy's listed accounts), every region, and each account that joins later.
 * The central account is left out: its regions forward through `deploy:regions`, and it runs the engine itself.
 */
export function stackSetCommands(rollout: StackSetRollout): string[] {
  const name = stackSetName(rollout.stage);
  const [home = ""] = rollout.regions;
  const accounts = rollout.organization.accounts;
  const targets =
    accounts === "all"
      ? `OrganizationalUnitIds=<ou-ids>,Accounts=${rollout.centralAccount},AccountFilterType=DIFFERENCE`
      : `OrganizationalUnitIds=<ou-ids>,Accounts=${accounts.join(",")},AccountFilterType=INTERSECTION`;
  return [
    `aws cloudformation create-stack-set --region ${home} --stack-set-name ${name} --template-body file://${rollout.templateFile} ` +
      "--capabilities CAPABILITY_NAMED_IAM --permission-model SERVICE_MANAGED " +
      "--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false",
    `aws cloudformation create-stack-instances --region ${home} --stack-set-name ${name} ` +
      `--deployment-targets ${targets} --regions ${rollout.regions.join(" ")} ` +
      "--operation-preferences RegionConcurrencyType=SEQUENTIAL,MaxConcurrentPercentage=100,FailureTolerancePercentage=0",
    `aws cloudformation update-stack-set --region ${home} --stack-set-name ${name} --template-body file://${rollout.templateFile} ` +
      "--capabilities CAPABILITY_NAMED_IAM   # after a catalog or policy change",
  ];
}
