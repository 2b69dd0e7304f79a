import { GLOBAL_EVENTS_REGION } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { App } from "sst/constructs";
import { useProject } from "sst/project.js";
import { Approvals } from "./Approvals";
import { AuditLog } from "./AuditLog";
import { Engine } from "./Engine";
import { GlobalEvents } from "./GlobalEvents";
import { Ingestion } from "./Ingestion";
import { State } from "./State";
import { Sweep } from "./Sweep";
import { provideDeployment } from "./lib/deployment";
import { deployedPolicy } from "./lib/policy";
import { SettingsError, type AppSettings } from "./lib/settings";

/**
 * Builds the stacks for the app's region. SST v2 deploys every stack of an app into the app's region (stacks with
 * another `env` region land there too: sst/v2#111), so the us-east-1 forwarder is its own deployment of the same
 * app: `npx sst deploy` in the home region, then `npx sst deploy --region us-east-1` when home is elsewhere.
 */
export function registerStacks(app: App, settings: AppSettings): void {
  if (app.region === settings.homeRegion) {
    // Validated before any stack exists: an invalid policy fails synth with the parser's message.
    const policy = deployedPolicy(settings.policyFile, useProject().paths.root, controls);
    provideDeployment(app, { settings, policy });
    app.stack(AuditLog).stack(State).stack(Ingestion).stack(Engine).stack(Approvals).stack(Sweep);
    return;
  }
  if (app.region === GLOBAL_EVENTS_REGION) {
    provideDeployment(app, { settings });
    app.stack(GlobalEvents);
    return;
  }
  throw new SettingsError(
    `The app region ${app.region} is neither the home region (${settings.homeRegion}) nor ${GLOBAL_EVENTS_REGION}, ` +
      `where global services' events are forwarded from. Deploy with --region ${settings.homeRegion}` +
      (settings.homeRegion === GLOBAL_EVENTS_REGION ? "" : ` or --region ${GLOBAL_EVENTS_REGION}`),
  );
}
