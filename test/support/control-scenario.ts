import type { ResourceRef } from "@hipaa-remediate/core";
import type { Moto } from "./moto";

/**
 * A control's end-to-end scenario. Each control supplies one (in test/integration/controls/scenarios/), and
 * the shared end-to-end suite drives every scenario through EventBridge -> SQS -> handler in every mode.
 */
export interface ControlScenario {
  control: string;
  /** Policy options for the control in this scenario (passed as `controls.<id>.options`). */
  options?: Record<string, unknown>;
  /** Days to move the injected clock forward before detection (stale keys cannot be back-dated in moto). */
  clockOffsetDays?: number;
  /**
   * Makes a violating resource in moto for real and returns the CloudTrail record that change would produce
   * (use test/support/cloudtrail.ts), plus the resource.
   */
  arrangeViolation(moto: Moto): Promise<{ record: Record<string, unknown>; resource: ResourceRef }>;
  /** Passes when the live resource is compliant again. */
  assertFixed(moto: Moto, resource: ResourceRef): Promise<void>;
  /** Passes when the live resource is still exactly as arranged. */
  assertUnchanged(moto: Moto, resource: ResourceRef): Promise<void>;
  /** Makes the resource compliant (or deletes it) behind the engine's back, for "no longer applies". */
  makeCompliant(moto: Moto, resource: ResourceRef): Promise<void>;
  /**
   * Why nothing can make the arranged violation stop applying (a root sign-in stays a sign-in): the
   * no-longer-applies test then does not run, and `makeCompliant` should refuse with the same reason.
   */
  alwaysApplies?: string;
  /**
   * Why the engine's own principal can never trigger the control (it listens only to another identity type, e.g.
   * Root): the loop-guard test then checks that the engine's change is not even matched.
   */
  engineNeverMatches?: string;
  /**
   * Why the scheduled sweep cannot find this violation without its event (e.g. root sign-ins exist only as
   * events). When absent, the shared suite checks that a sweep in auto mode finds and fixes the arranged violation.
   */
  notFoundBySweep?: string;
  /**
   * Why the fix cannot be rolled back through the log (a notify-only control applies nothing). When absent, the
   * shared suite rolls the automatic fix back and checks the resource is exactly as arranged again.
   */
  noRollback?: string;
  /** Why auto mode does not change the resource (notify-only controls): the auto test then checks it is unchanged. */
  notifyOnly?: string;
}
