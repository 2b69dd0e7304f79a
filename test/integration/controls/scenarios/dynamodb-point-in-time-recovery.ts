import { randomUUID } from "node:crypto";
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  UpdateContinuousBackupsCommand,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { tableRef } from "../../../../remediations/lib/dynamodb";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, MOTO_REGION, type Moto } from "../../../support/moto";

export async function createTable(moto: Moto, name: string, tags: Record<string, string> = {}, region = MOTO_REGION): Promise<ResourceRef> {
  const dynamodb = await moto.clients.dynamodb(region);
  await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
      ...(Object.keys(tags).length > 0 ? { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
    }),
  );
  return tableRef(name, MOTO_ACCOUNT, region);
}

export async function setRecovery(client: DynamoDBClient, table: string, enabled: boolean): Promise<void> {
  await client.send(
    new UpdateContinuousBackupsCommand({ TableName: table, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: enabled } }),
  );
}

export async function recoveryStatus(moto: Moto, ref: ResourceRef): Promise<string | undefined> {
  const dynamodb = await moto.clients.dynamodb(ref.region);
  const response = await dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: ref.id }));
  return response.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus;
}

/** Someone turned point-in-time recovery off on a PHI table: UpdateContinuousBackups with false. */
export const scenario: ControlScenario = {
  control: "dynamodb-point-in-time-recovery",

  async arrangeViolation(moto) {
    const name = `phi-claims-${randomUUID().slice(0, 8)}`;
    const resource = await createTable(moto, name, { DataClassification: "PHI" });
    const dynamodb = await moto.clients.dynamodb(MOTO_REGION);
    await setRecovery(dynamodb, name, true);
    await setRecovery(dynamodb, name, false);
    const record = cloudTrailRecord({
      eventSource: "dynamodb.amazonaws.com",
      eventName: "UpdateContinuousBackups",
      requestParameters: { tableName: name, pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false } },
      responseElements: {
        continuousBackupsDescription: {
          continuousBackupsStatus: "ENABLED",
          pointInTimeRecoveryDescription: { pointInTimeRecoveryStatus: "DISABLED" },
        },
      },
    });
    return { record, resource };
  },

  async assertFixed(moto, resource) {
    expect(await recoveryStatus(moto, resource)).toBe("ENABLED");
  },

  async assertUnchanged(moto, resource) {
    expect(await recoveryStatus(moto, resource)).toBe("DISABLED");
  },

  async makeCompliant(moto, resource) {
    await setRecovery(await moto.clients.dynamodb(resource.region), resource.id, true);
  },
};
