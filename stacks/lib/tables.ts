import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { encryptionKeyFor } from "./operations";

/** A key attribute as the core modules declare it (`{ name: "seq", type: "N" }`). */
export interface KeyAttribute {
  name: string;
  type: "S" | "N" | "B";
}

export interface DurableTableProps {
  /** For tables that hold audit evidence: CloudFormation and the console then cannot delete them by accident. */
  deletionProtection: boolean;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  timeToLiveAttribute?: string;
  globalIndexes?: { indexName: string; partitionKey: KeyAttribute; sortKey?: KeyAttribute }[];
  /** A resource policy on the table itself: it binds every principal, whatever their identity policies allow. */
  resourcePolicy?: iam.PolicyDocument;
}

/** A table and the names of its indexes, which IAM grants name one by one. */
export interface EngineTable {
  table: dynamodb.Table;
  indexNames: string[];
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  const type = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER, B: dynamodb.AttributeType.BINARY }[key.type];
  return { name: key.name, type };
}

function tableEncryption(scope: Construct): Pick<dynamodb.TableProps, "encryption" | "encryptionKey"> {
  const key = encryptionKeyFor(scope);
  return key
    ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: key }
    : { encryption: dynamodb.TableEncryption.AWS_MANAGED };
}

/**
 * Every table the engine keeps records decisions about PHI resources, so all of them get point-in-time recovery,
 * retention when the stack goes away, encryption with the AWS-managed key (its use shows in CloudTrail) or the
 * deployment's customer-managed key, and
 * on-demand capacity (the load is bursty and event-driven). Deletion protection is chosen per table.
 */
export function durableTable(scope: Construct, id: string, props: DurableTableProps): EngineTable {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: attribute(props.partitionKey),
    ...(props.sortKey ? { sortKey: attribute(props.sortKey) } : {}),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: props.deletionProtection,
    ...tableEncryption(scope),
    removalPolicy: RemovalPolicy.RETAIN,
    ...(props.timeToLiveAttribute ? { timeToLiveAttribute: props.timeToLiveAttribute } : {}),
    ...(props.resourcePolicy ? { resourcePolicy: props.resourcePolicy } : {}),
  });
  for (const index of props.globalIndexes ?? []) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: attribute(index.partitionKey),
      ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return { table, indexNames: (props.globalIndexes ?? []).map((index) => index.indexName) };
}

export type DynamoDbAction =
  | "dynamodb:GetItem"
  | "dynamodb:PutItem"
  | "dynamodb:UpdateItem"
  | "dynamodb:DeleteItem"
  | "dynamodb:Query"
  | "dynamodb:BatchGetItem"
  | "dynamodb:Scan"
  | "dynamodb:ConditionCheckItem";

/**
 * Exactly the listed actions on one table. Query is the only one of them that reaches indexes, so each index ARN is
 * added, by name, only when Query is granted.
 */
export function tableAccess(sid: string, { table, indexNames }: EngineTable, actions: readonly DynamoDbAction[]): iam.PolicyStatement {
  const indexes = actions.includes("dynamodb:Query") ? indexNames.map((name) => `${table.tableArn}/index/${name}`) : [];
  return new iam.PolicyStatement({ sid, effect: iam.Effect.ALLOW, actions: [...actions], resources: [table.tableArn, ...indexes] });
}
