import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { ExemptionRef } from "../policy/decision";
import {
  CorruptExemptionError,
  EXEMPTIONS_TABLE_KEYS,
  exemptionId,
  parseStoredExemption,
  validateExemption,
  type ExemptionStore,
} from "./exemption-store";

/** Deployed exemption store: one item per exemption. Exemptions are few, so `list` scans. */
export class DynamoDbExemptionStore implements ExemptionStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async add(exemption: ExemptionRef): Promise<void> {
    const valid = validateExemption(exemption);
    // A plain put: the id is derived from the content, so writing it again stores the same item.
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { [EXEMPTIONS_TABLE_KEYS.partitionKey.name]: exemptionId(valid), ...valid },
      }),
    );
  }

  async grantOnce(key: string, exemption: ExemptionRef): Promise<ExemptionRef> {
    const valid = validateExemption(exemption);
    const idName = EXEMPTIONS_TABLE_KEYS.partitionKey.name;
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [idName]: key, ...valid },
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": idName },
        }),
      );
      return valid;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const stored = await this.documents.send(new GetCommand({ TableName: this.tableName, Key: { [idName]: key }, ConsistentRead: true }));
    if (!stored.Item) throw new CorruptExemptionError(`dynamodb exemption ${key} refused the write but cannot be read`);
    const { [idName]: _id, ...fields } = stored.Item;
    return parseStoredExemption(fields, `dynamodb exemption ${key}`);
  }

  async list(): Promise<ExemptionRef[]> {
    const exemptions: ExemptionRef[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new ScanCommand({ TableName: this.tableName, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
      );
      for (const item of page.Items ?? []) {
        const { id, ...exemption } = item;
        exemptions.push(parseStoredExemption(exemption, `dynamodb exemption ${String(id)}`));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return exemptions.sort((a, b) => a.expires.localeCompare(b.expires));
  }
}
