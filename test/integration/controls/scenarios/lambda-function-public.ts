import { AddPermissionCommand, GetPolicyCommand, RemovePermissionCommand } from "@aws-sdk/client-lambda";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { createTestFunction, lambdaClient } from "../../../support/lambda";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "../../../support/moto";

export const PUBLIC_SID = "public-invoke";

export function functionRef(name: string, region = MOTO_REGION, account = MOTO_ACCOUNT): ResourceRef {
  return { type: "AWS::Lambda::Function", id: name, arn: `arn:aws:lambda:${region}:${account}:function:${name}`, account, region };
}

/** The function's resource policy statements by Sid (principal as written), or {} when it has none. */
export async function policyStatements(moto: Moto, name: string, region = MOTO_REGION): Promise<Record<string, unknown>> {
  try {
    const { Policy: policy } = await lambdaClient(moto, region).send(new GetPolicyCommand({ FunctionName: name }));
    const statements = (JSON.parse(policy ?? "{}") as { Statement?: { Sid: string; Principal: unknown }[] }).Statement ?? [];
    return Object.fromEntries(statements.map((statement) => [statement.Sid, statement.Principal]));
  } catch (error) {
    if (error instanceof Error && error.name === "ResourceNotFoundException") return {};
    throw error;
  }
}

/** A real AddPermission20150331v2 record's shape: anyone may invoke the function, no source condition. */
export function addPermissionRecord(functionName: string, statementId = PUBLIC_SID, principal = "*"): Record<string, unknown> {
  return cloudTrailRecord({
    eventSource: "lambda.amazonaws.com",
    eventName: "AddPermission20150331v2",
    requestParameters: { action: "lambda:InvokeFunction", functionName, principal, statementId },
    responseElements: {
      statement: JSON.stringify({
        Sid: statementId,
        Effect: "Allow",
        Principal: principal,
        Action: "lambda:InvokeFunction",
        Resource: functionRef(functionName).arn,
      }),
    },
  });
}

/** Someone let anyone invoke a function (AddPermission with principal "*"). */
export const scenario: ControlScenario = {
  control: "lambda-function-public",

  async arrangeViolation(moto) {
    const name = await createTestFunction(moto, "public-fn");
    await lambdaClient(moto).send(
      new AddPermissionCommand({ FunctionName: name, StatementId: PUBLIC_SID, Action: "lambda:InvokeFunction", Principal: "*" }),
    );
    return { record: addPermissionRecord(name), resource: functionRef(name) };
  },

  async assertFixed(moto, resource) {
    expect(await policyStatements(moto, resource.id, resource.region)).not.toHaveProperty(PUBLIC_SID);
  },

  async assertUnchanged(moto, resource) {
    expect(await policyStatements(moto, resource.id, resource.region)).toEqual({ [PUBLIC_SID]: "*" });
  },

  async makeCompliant(moto, resource) {
    await lambdaClient(moto, resource.region).send(new RemovePermissionCommand({ FunctionName: resource.id, StatementId: PUBLIC_SID }));
  },
};
