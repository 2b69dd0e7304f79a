import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import {
  GLOBAL_EVENTS_REGION,
  eventPatternsFor,
  forwardedFromGlobalRegion,
  isGlobalEventSource,
  scopeRegions,
  type GeneratedEventPattern,
  type PolicyScope,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import type { Construct } from "constructs";
import { describeMatched, ruleEventPattern } from "./events";
import { SettingsError } from "./settings";

/** Patterns whose events only us-east-1 delivers: global services', and identity patterns (root console sign-ins). */
export function globalRegionPatterns(generated: readonly GeneratedEventPattern[]): GeneratedEventPattern[] {
  return generated.filter(forwardedFromGlobalRegion);
}

/** Patterns whose events every region delivers: regional services' and identity patterns (root calls to them). */
export function regionalPatterns(generated: readonly GeneratedEventPattern[]): GeneratedEventPattern[] {
  return generated.filter((pattern) => pattern.kind === "identity" || !isGlobalEventSource(pattern.eventSource));
}

/**
 * What a region other than home forwards there, generated from the catalog: its own regional events when the
 * policy's scope lists it, and, in us-east-1, global services' events whatever the scope says (they concern every
 * region). A global service's rule anywhere else would never match, so it is left out.
 */
export function forwardedPatterns(region: string, scope: Pick<PolicyScope, "regions">): GeneratedEventPattern[] {
  const generated = eventPatternsFor(controls);
  const selected = new Map<string, GeneratedEventPattern>();
  if (region === GLOBAL_EVENTS_REGION) for (const pattern of globalRegionPatterns(generated)) selected.set(pattern.key, pattern);
  if (scopeRegions(scope).includes(region)) for (const pattern of regionalPatterns(generated)) selected.set(pattern.key, pattern);
  return generated.filter((pattern) => selected.has(pattern.key));
}

/**
 * The regions one `sst deploy` each: home first (the engine), then every region that forwards to it, i.e. the
 * scope's other regions and, when home is elsewhere, us-east-1 for the global services.
 */
export function deploymentRegions(homeRegion: string, scope: Pick<PolicyScope, "regions">): string[] {
  const forwarding = [...scopeRegions(scope), GLOBAL_EVENTS_REGION].filter((region) => region !== homeRegion);
  return [homeRegion, ...new Set(forwarding)];
}

export function assertDeployableRegion(appRegion: string, homeRegion: string, scope: Pick<PolicyScope, "regions">): void {
  const regions = deploymentRegions(homeRegion, scope);
  if (regions.includes(appRegion)) return;
  throw new SettingsError(
    `The app region ${appRegion} is neither the home region (${homeRegion}) nor a region the policy's scope.regions lists ` +
      `(or ${GLOBAL_EVENTS_REGION}, where global services' events are forwarded from). Deploy with one of --region ` +
      `${regions.join(", ")}, or add ${appRegion} to scope.regions`,
  );
}

export interface ForwardingRulesProps {
  patterns: readonly GeneratedEventPattern[];
  /** The bus the events go to: the home region's default bus, in this account or the central one. */
  destination: events.IEventBus;
  /** Where the destination is, for the rules' descriptions. */
  destinationName: string;
  /** EventBridge assumes it to put events on another region's or account's bus. */
  role: iam.IRole;
  /** Events EventBridge could not deliver after its retries. */
  deadLetterQueue: sqs.IQueue;
}

/** One rule per generated pattern, forwarding its events unchanged (account and region included) to the destination. */
export function forwardingRules(scope: Construct, props: ForwardingRulesProps): events.Rule[] {
  return props.patterns.map(
    (generated) =>
      new events.Rule(scope, `Forward-${generated.key}`, {
        description: `Forwards ${describeMatched(generated)} to ${props.destinationName}`,
        eventPattern: ruleEventPattern(generated.pattern),
        targets: [new targets.EventBus(props.destination, { role: props.role, deadLetterQueue: props.deadLetterQueue })],
      }),
  );
}
