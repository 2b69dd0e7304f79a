import type { SSTConfig } from "sst";
import { useProject } from "sst/project.js";
import { registerStacks } from "./stacks";
import { resolvePolicyFile } from "./stacks/lib/policy";
import { settingsFromEnvironment } from "./stacks/lib/settings";

/**
 * Deploy: `npx sst deploy --stage <stage>` in the home region (HIPAA_HOME_REGION, default us-east-1, or --region).
 * When the home region is not us-east-1, also `npx sst deploy --stage <stage> --region us-east-1` with the same
 * HIPAA_HOME_REGION: that deployment holds only the rules forwarding global services' events home.
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
