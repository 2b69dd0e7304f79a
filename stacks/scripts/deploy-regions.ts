import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { deploymentRegions } from "../lib/forwarding";
import { deployCommands } from "../lib/rollout";
import { deploymentContext } from "./context";

/**
 * `npm run deploy:regions -- --stage <stage> [--dry-run]`: one `sst deploy` per region, home first (the engine),
 * then every region that forwards to it (the policy's scope.regions and us-east-1). Stops at the first failure,
 * naming the region; a rerun redeploys the regions before it without changes and resumes.
 */
function main(): number {
  const { values } = parseArgs({ options: { stage: { type: "string" }, "dry-run": { type: "boolean", default: false } } });
  if (!values.stage) {
    console.error("usage: npm run deploy:regions -- --stage <stage> [--dry-run]");
    return 2;
  }
  const { settings, policy } = deploymentContext(process.env, process.cwd());
  const commands = deployCommands(values.stage, settings.homeRegion, deploymentRegions(settings.homeRegion, policy.scope));
  for (const { region, command, args, env } of commands) {
    console.log(`HIPAA_HOME_REGION=${env.HIPAA_HOME_REGION} ${command} ${args.join(" ")}`);
    if (values["dry-run"]) continue;
    const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, ...env } });
    if (result.status !== 0) {
      console.error(
        `Deploying ${region} failed (exit ${result.status ?? result.signal}); the regions before it are deployed. Fix and rerun.`,
      );
      return 1;
    }
  }
  return 0;
}

process.exitCode = main();
