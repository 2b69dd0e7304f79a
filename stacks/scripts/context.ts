import type { Policy } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { deployedPolicy, resolvePolicyFile } from "../lib/policy";
import { settingsFromEnvironment, type AppSettings } from "../lib/settings";

/** sst.config.ts's default region: the home region when HIPAA_HOME_REGION is unset. */
export const DEFAULT_HOME_REGION = "us-east-1";

export interface DeploymentContext {
  settings: AppSettings;
  policy: Policy;
}

/**
 * The settings and the validated policy exactly as `sst deploy` would resolve them from the same shell (HIPAA_* and
 * ./policy.yaml), so the scripts plan the same regions and roles the stacks are built with.
 */
export function deploymentContext(env: Readonly<Record<string, string | undefined>>, root: string): DeploymentContext {
  const homeRegion = env.HIPAA_HOME_REGION?.trim() || DEFAULT_HOME_REGION;
  const settings = settingsFromEnvironment({ ...env, HIPAA_HOME_REGION: homeRegion }, homeRegion, (explicit) =>
    resolvePolicyFile(explicit, root),
  );
  return { settings, policy: deployedPolicy(settings.policyFile, root, controls).policy };
}
