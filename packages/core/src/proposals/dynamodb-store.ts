import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ProposalExistsError, ProposalNotFoundError } from "./errors";
import type { Proposal, ProposalStatus, ProposalStore, ProposalTransitionChanges } from "./proposal";
import { parseStoredProposal } from "./schema";

/** Key schema of the proposals table; the infrastructure stack builds the table from these. */
export const PROPOSALS_TABLE_KEYS = {
  partitionKey: { name: "id", type: "S" },
  byStatusIndex: {
    name: "byStatus",
    partitionKey: { name: "status", type: "S" },
    sortKey: { name: "createdAt", type: "S" },
  },
} as const;

/**
 * Deployed proposal store. One item per proposal, every field a top-level attribute, so the `byStatus` index can
 * list pending proposals oldest first for expiry and reminders.
 */
export class DynamoDbProposalStore implements ProposalStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async create(proposal: Proposal): Promise<void> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: proposal,
          ConditionExpression: "attribute_not_exists(#id)",
          ExpressionAttributeNames: { "#id": PROPOSALS_TABLE_KEYS.partitionKey.name },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ProposalExistsError(proposal.id, { cause: error });
      throw error;
    }
  }

  async get(id: string): Promise<Proposal | undefined> {
    const result = await this.documents.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
    return result.Item ? parseStoredProposal(result.Item, `dynamodb proposal ${id}`) : undefined;
  }

  async listByStatus(status: ProposalStatus): Promise<Proposal[]> {
    const proposals: Proposal[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: PROPOSALS_TABLE_KEYS.byStatusIndex.name,
          KeyConditionExpression: "#status = :status",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":status": status },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        proposals.push(parseStoredProposal(item, `dynamodb proposal ${String(item.id)}`));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return proposals;
  }

  async transition(id: string, from: ProposalStatus, to: ProposalStatus, changes: ProposalTransitionChanges = {}): Promise<boolean> {
    // The exactly-once gate: DynamoDB evaluates the condition and the write as one atomic step.
    return this.conditionalUpdate(id, { status: to, ...changes }, "#status = :from", {
      names: { "#status": "status" },
      values: { ":from": from },
    });
  }

  async transitionLeased(id: string, holder: string, to: ProposalStatus, changes: ProposalTransitionChanges = {}): Promise<boolean> {
    // Only the current lease holder may move an applying proposal on; a takeover changes the holder.
    return this.conditionalUpdate(id, { status: to, ...changes }, "#status = :applying AND #leaseHolder = :holder", {
      names: { "#status": "status", "#leaseHolder": "leaseHolder" },
      values: { ":applying": "applying", ":holder": holder },
    });
  }

  async update(id: string, changes: Partial<Pick<Proposal, "slack" | "reminderSentAt">>): Promise<void> {
    if (Object.values(changes).every((value) => value === undefined)) {
      // UpdateItem needs something to set; with nothing to change only existence is checked.
      if (!(await this.get(id))) throw new ProposalNotFoundError(id);
      return;
    }
    const exists = await this.conditionalUpdate(id, changes, "attribute_exists(#id)", {
      names: { "#id": PROPOSALS_TABLE_KEYS.partitionKey.name },
      values: {},
    });
    if (!exists) throw new ProposalNotFoundError(id);
  }

  /** SETs the defined fields when `condition` holds; false when it does not. */
  private async conditionalUpdate(
    id: string,
    fields: Partial<Pick<Proposal, "status" | keyof ProposalTransitionChanges>>,
    condition: string,
    placeholders: { names: Record<string, string>; values: Record<string, unknown> },
  ): Promise<boolean> {
    const update = setExpression(fields);
    const values = { ...update.values, ...placeholders.values };
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: update.expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: { ...update.names, ...placeholders.names },
          ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/** `SET #a = :a, #b = :b` for every defined field, with placeholder maps. */
function setExpression(fields: Partial<Pick<Proposal, "status" | keyof ProposalTransitionChanges>>): {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
} {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const assignments: string[] = [];
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    assignments.push(`#${field} = :${field}`);
  }
  return { expression: assignments.length ? `SET ${assignments.join(", ")}` : "", names, values };
}
