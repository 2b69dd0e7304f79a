import {
  ReadCache,
  normaliseRecord,
  silentLogger,
  type ChangeEvent,
  type Control,
  type ControlContext,
  type Finding,
  type JsonObject,
  type LiveContext,
  type Verdict,
} from "@hipaa-remediate/core";
import { expect } from "vitest";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "./moto";

/** The engine's tag key in control tests. */
export const TEST_ENGINE_TAG = "hipaa-remediate:managed";
/** The fixed clock of control tests. */
export const TEST_NOW = new Date("2025-03-01T12:00:00.000Z");

/**
 * The context the engine would hand a control, against this file's moto: a fixed clock, the silent logger, the
 * default tag conventions and engine identity, and `options` parsed by the control's own schema (so defaults apply).
 */
export function liveContext<O, P extends JsonObject>(
  moto: Moto,
  control: Control<O, P>,
  options: Record<string, unknown> = {},
): LiveContext<O> {
  return {
    aws: moto.clients,
    now: () => TEST_NOW,
    options: control.options.parse(options),
    tags: {
      phi: { keys: ["DataClassification", "PHI"], values: ["PHI", "true"] },
      environment: { keys: ["Environment", "Env"], nonProduction: ["dev", "development", "test", "sandbox"] },
    },
    engine: { principals: [], userAgent: "hipaa-remediate", tagKey: TEST_ENGINE_TAG },
    logger: silentLogger,
    regions: [MOTO_REGION],
    account: MOTO_ACCOUNT,
    reads: new ReadCache(),
  };
}

/** The same context without AWS, as in an offline replay. */
export function offlineContext<O, P extends JsonObject>(
  moto: Moto,
  control: Control<O, P>,
  options: Record<string, unknown> = {},
): ControlContext<O> {
  const { aws: _aws, ...rest } = liveContext(moto, control, options);
  return rest;
}

/** A test record as the engine's own ingestion turns it into a ChangeEvent. */
export function changeEventOf(record: Record<string, unknown>): ChangeEvent {
  const result = normaliseRecord(record, "test");
  if (result.kind !== "event") throw new Error(`test record was not normalised: ${JSON.stringify(result)}`);
  return result.event;
}

/** The finding of the only verdict, which must be a violation. */
export function onlyViolation(verdicts: Verdict[]): Finding {
  expect(verdicts).toHaveLength(1);
  const [verdict] = verdicts;
  if (verdict?.kind !== "violation") throw new Error(`expected a violation, got ${JSON.stringify(verdicts)}`);
  return verdict.finding;
}

/** The reason of the only verdict, which must be no-longer-applies. */
export function onlyCleared(verdicts: Verdict[]): string {
  expect(verdicts).toHaveLength(1);
  const [verdict] = verdicts;
  if (verdict?.kind !== "no-longer-applies") throw new Error(`expected no-longer-applies, got ${JSON.stringify(verdicts)}`);
  return verdict.reason;
}
