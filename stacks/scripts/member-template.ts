import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { deploymentRegions } from "../lib/forwarding";
import { stackSetCommands } from "../lib/rollout";
import { memberTemplate } from "../member/template";
import { deploymentContext } from "./context";

const USAGE = "usage: npm run member-template -- --stage <stage> --central-account <12-digit id> [--out member.json]";

/**
 * `npm run member-template -- --stage prod --central-account 111122223333 --out member.json`: writes the
 * member-account template for the policy (HIPAA_POLICY_FILE or ./policy.yaml) and home region (HIPAA_HOME_REGION),
 * then prints the StackSet commands that roll it out.
 */
function main(): number {
  const { values } = parseArgs({
    options: { stage: { type: "string" }, "central-account": { type: "string" }, out: { type: "string", default: "member.json" } },
  });
  const centralAccount = values["central-account"];
  if (!values.stage || !centralAccount) {
    console.error(USAGE);
    return 2;
  }
  const { settings, policy } = deploymentContext(process.env, process.cwd());
  const template = memberTemplate({ policy, homeRegion: settings.homeRegion, centralAccount, stage: values.stage });
  writeFileSync(values.out, `${JSON.stringify(template, null, 2)}\n`);
  console.log(
    `Wrote ${values.out}. Roll it out from the organisation's management account (or a delegated administrator, with --call-as DELEGATED_ADMIN):`,
  );
  const organization = policy.scope.organization;
  if (organization !== undefined) {
    const regions = deploymentRegions(settings.homeRegion, policy.scope);
    for (const command of stackSetCommands({ stage: values.stage, templateFile: values.out, regions, organization, centralAccount })) {
      console.log(`  ${command}`);
    }
  }
  return 0;
}

process.exitCode = main();
