import * as events from "aws-cdk-lib/aws-events";
import type { StackContext } from "sst/constructs";
import { useDeployedPolicy } from "./lib/deployment";
import { SettingsError } from "./lib/settings";

/** The statement id on the home bus; CloudFormation replaces the statement when the organisation changes. */
export const ORGANIZATION_BUS_STATEMENT_ID = "HipaaRemediateOrganizationPutEvents";

/**
 * Deployed at home only when the policy's scope names an organisation: the home region's default bus accepts
 * events:PutEvents from the organisation's accounts (their member-template forwarding roles) and from no other
 * account. The bus's own account needs no statement: its principals are governed by IAM alone.
 */
export function OrganizationBus({ app, stack }: StackContext) {
  const organization = useDeployedPolicy(app).policy.scope.organization;
  if (organization === undefined) throw new SettingsError("OrganizationBus needs the policy's scope.organization");
  const busArn = stack.formatArn({ service: "events", resource: "event-bus", resourceName: "default" });
  const busPolicy = new events.CfnEventBusPolicy(stack, "OrganizationPutEvents", {
    eventBusName: "default",
    statementId: ORGANIZATION_BUS_STATEMENT_ID,
    statement: {
      Sid: ORGANIZATION_BUS_STATEMENT_ID,
      Effect: "Allow",
      Principal: "*",
      Action: "events:PutEvents",
      Resource: busArn,
      Condition: { StringEquals: { "aws:PrincipalOrgID": organization.id } },
    },
  });
  stack.addOutputs({ OrganizationBusArn: busArn, OrganizationId: organization.id });
  return { busPolicy, busArn };
}
