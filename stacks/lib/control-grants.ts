import { Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import {
  APPLYING_MODES,
  controlGrantStatements,
  engineTagKeys,
  type AnyControl,
  type Mode,
  type Policy,
  type PolicyStatementData,
} from "@hipaa-remediate/core";
import type { Construct } from "constructs";
import type { RemediatorPurpose } from "./remediator";

/** The modes in which each remediating function applies fixes (see APPLYING_MODES). */
export const APPLYING_MODES_BY_PURPOSE: Record<RemediatorPurpose, readonly Mode[]> = {
  engine: APPLYING_MODES.automatic,
  sweep: APPLYING_MODES.automatic,
  "approval-worker": APPLYING_MODES.approved,
};

export function cdkStatements(statements: readonly PolicyStatementData[]): iam.PolicyStatement[] {
  return statements.map(
    (statement) =>
      new iam.PolicyStatement({
        sid: statement.sid,
        effect: statement.effect === "Deny" ? iam.Effect.DENY : iam.Effect.ALLOW,
        actions: statement.actions,
        resources: statement.resources,
        ...(statement.conditions ? { conditions: statement.conditions } : {}),
      }),
  );
}

/**
 * The controls' grants for a role in `scope`'s account, following the deployed policy: detect for every control,
 * apply only for the controls that can reach one of `applyingModes`, nothing for rollback, and the dangerous grants
 * narrowed (core's controlGrantStatements). Any stack can use it: the engine's functions, or a member account's
 * remediation role (pass the union of the engine's and the worker's modes, APPLYING_MODES.approved).
 */
export function policyControlStatements(
  scope: Construct,
  controls: readonly AnyControl[],
  policy: Policy,
  applyingModes: readonly Mode[],
): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  return cdkStatements(
    controlGrantStatements({
      controls,
      policy,
      applyingModes,
      scope: { account: stack.account, partition: stack.partition, tagKeys: engineTagKeys(policy) },
    }),
  );
}
