import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { MS_PER_MINUTE, RateLimitStoreError, type RateLimiter, type RateLimits } from "./rate-limiter";

/**
 * The rate-limit table's key schema, for the infrastructure stack: a string partition key and a TTL attribute
 * (epoch seconds) that lets DynamoDB delete finished windows.
 */
export const RATE_LIMIT_TABLE_SCHEMA = {
  partitionKey: { name: "pk", type: "S" },
  timeToLiveAttribute: "expiresAt",
} as const;

const COUNT_ATTRIBUTE = "count";

export interface DynamoDbRateLimiterOptions {
  client: DynamoDBClient;
  tableName: string;
  limits: RateLimits;
  /** Keeps counters apart when several deployments (stages) share one table. */
  scope?: string;
}

/**
 * Rate limiter for the deployed engine: one item per fixed window (aligned to the epoch), incremented with
 * `ADD count 1` under the condition `count < cap`. DynamoDB applies each conditional update atomically, so any
 * number of concurrent engines together never exceed the cap within a window. Fixed windows trade precision
 * for one write per fix: a burst straddling a window boundary can reach twice the cap within one window length.
 */
export class DynamoDbRateLimiter implements RateLimiter {
  private readonly documents: DynamoDBDocumentClient;
  private readonly windowMs: number;

  constructor(private readonly options: DynamoDbRateLimiterOptions) {
    this.documents = DynamoDBDocumentClient.from(options.client);
    this.windowMs = options.limits.windowMinutes * MS_PER_MINUTE;
  }

  private window(now: Date): { key: string; start: Date; end: Date } {
    const startMs = Math.floor(now.getTime() / this.windowMs) * this.windowMs;
    const start = new Date(startMs);
    const scope = this.options.scope ?? "default";
    return {
      key: `rate-limit#${scope}#${this.options.limits.windowMinutes}m#${start.toISOString()}`,
      start,
      end: new Date(startMs + this.windowMs),
    };
  }

  async countInWindow(now: Date): Promise<number> {
    const { key } = this.window(now);
    try {
      const result = await this.documents.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: { [RATE_LIMIT_TABLE_SCHEMA.partitionKey.name]: key },
          ConsistentRead: true,
        }),
      );
      const count: unknown = result.Item?.[COUNT_ATTRIBUTE];
      return typeof count === "number" ? count : 0;
    } catch (error) {
      throw new RateLimitStoreError(`rate limiter could not read window ${key} from ${this.options.tableName}`, { cause: error });
    }
  }

  async tryAcquire(now: Date): Promise<boolean> {
    // With a cap of 0 the condition below would still admit the first fix of an empty window.
    if (this.options.limits.maxAutoFixes <= 0) return false;
    const { key, start, end } = this.window(now);
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [RATE_LIMIT_TABLE_SCHEMA.partitionKey.name]: key },
          UpdateExpression: "SET #windowStart = :windowStart, #expiresAt = :expiresAt ADD #count :one",
          ConditionExpression: "attribute_not_exists(#count) OR #count < :cap",
          ExpressionAttributeNames: {
            "#count": COUNT_ATTRIBUTE,
            "#windowStart": "windowStart",
            "#expiresAt": RATE_LIMIT_TABLE_SCHEMA.timeToLiveAttribute,
          },
          ExpressionAttributeValues: {
            ":one": 1,
            ":cap": this.options.limits.maxAutoFixes,
            ":windowStart": start.toISOString(),
            // Kept one window past its end, so a reader can still see the last window's count.
            ":expiresAt": Math.ceil((end.getTime() + this.windowMs) / 1000),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return false;
      throw new RateLimitStoreError(`rate limiter could not record an automatic fix in ${this.options.tableName}`, { cause: error });
    }
  }
}
