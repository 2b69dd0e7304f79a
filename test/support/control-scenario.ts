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
}
