import type { App } from "sst/constructs";
import type { DeployedPolicy } from "./policy";
import { SettingsError, type AppSettings } from "./settings";

/** What every stack of one app shares: the settings and the policy, validated once before any stack is built. */
export interface Deployment {
  settings: AppSettings;
  /** Absent in a region that only forwards events: no function there reads a policy. */
  policy?: DeployedPolicy;
}

// Keyed by app, so tests that synthesise several apps in one process never see each other's settings.
const deployments = new WeakMap<App, Deployment>();

export function provideDeployment(app: App, deployment: Deployment): void {
  deployments.set(app, deployment);
}

export function useDeployment(app: App): Deployment {
  const deployment = deployments.get(app);
  if (deployment === undefined)
    throw new SettingsError("No deployment settings for this app: build its stacks with registerStacks(app, settings)");
  return deployment;
}

/** The policy, for stacks that deploy functions (only the home region has any). */
export function useDeployedPolicy(app: App): DeployedPolicy {
  const { policy } = useDeployment(app);
  if (policy === undefined)
    throw new SettingsError(`Region ${app.region} only forwards events; it deploys no function that reads the policy`);
  return policy;
}
