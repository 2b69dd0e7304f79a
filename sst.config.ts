import type { SSTConfig } from "sst";
import { useProject } from "sst/project.js";
import { registerStacks } from "./stacks";
import { resolvePolicyFile } from "./stacks/lib/policy";
import { settingsFromEnvironment } from "./stacks/lib/settings";

/**
 * Deploy: `npx sst deploy --stage <stage>` in the home region (HIPAA_HOME_REGION, default us-east-1, or --region).
 * Every other region of the policy's scope.regions, and us-east-1 when home is elsewhere, is one more deploy with the
 * same HIPAA_HOME_REGION holding only the rules forwarding events home: `npm run deploy:regions -- --stage <stage>`
 * runs them all, home first.
 * Settings: HIPAA_HOME_REGION, HIPAA_POLICY_FILE, HIPAA_SWEEP_SCHEDULE, HIPAA_SWEEP_REGIONS (see stacks/lib/settings.ts).
 */
export default {
  config() {
    return {
      name: "hipaa-remediate",
      region: process.env.HIPAA_HOME_REGION || "us-east-1",
    };
  },
  stacks(app) {
    const root = useProject().paths.root;
    registerStacks(
      app,
      settingsFromEnvironment(process.env, app.region, (explicit) => resolvePolicyFile(explicit, root)),
    );
  },
} satisfies SSTConfig;
