import { Aspects } from "aws-cdk-lib";
import { GLOBAL_EVENTS_REGION } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { App } from "sst/constructs";
import { useProject } from "sst/project.js";
import { Approvals } from "./Approvals";
import { AuditLog } from "./AuditLog";
import { Engine } from "./Engine";
import { GlobalEvents } from "./GlobalEvents";
import { Ingestion } from "./Ingestion";
import { Operations } from "./Operations";
import { OrganizationBus } from "./OrganizationBus";
import { RegionEvents } from "./RegionEvents";
import { State } from "./State";
import { Sweep } from "./Sweep";
import { provideDeployment } from "./lib/deployment";
import { EveryRoleHasABoundary } from "./lib/permissions-boundary";
import { assertDeployableRegion } from "./lib/forwarding";
import { deployedPolicy } from "./lib/policy";
import type { AppSettings } from "./lib/settings";

/**
 * Builds the stacks for the app's region. SST v2 deploys every stack of an app into the app's region (stacks with
 * another `env` region land there too: sst/v2#111), so each region is its own deployment of the same app: the engine
 * at home, and in every other region of the policy's scope.regions (plus us-east-1 for global services' events) the
 * rules forwarding events home. `npm run deploy:regions -- --stage <stage>` runs them all (stacks/scripts).
 */
export function registerStacks(app: App, settings: AppSettings): void {
  // Every role of every stack, the constructs' own included, gets a permissions boundary.
  Aspects.of(app).add(new EveryRoleHasABoundary());
  // Validated before any stack exists: an invalid policy fails synth with the parser's message. Every region reads
  // it, because its scope decides which regions forward and what.
  const policy = deployedPolicy(settings.policyFile, useProject().paths.root, controls);
  assertDeployableRegion(app.region, settings.homeRegion, policy.policy.scope);
  provideDeployment(app, { settings, policy });
  if (app.region === settings.homeRegion) {
    app.stack(Operations).stack(AuditLog).stack(State).stack(Ingestion).stack(Engine).stack(Approvals).stack(Sweep);
    if (policy.policy.scope.organization !== undefined) app.stack(OrganizationBus);
    return;
  }
  app.stack(app.region === GLOBAL_EVENTS_REGION ? GlobalEvents : RegionEvents);
}
