import { ListTagsOfResourceCommand, paginateListTables, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { ChangeEvent, LiveContext, ResourceRef } from "@hipaa-remediate/core";
import { resolveAccount } from "./account";
import { objectAt, stringsOf } from "./json-fields";
import { defineResourceKind, type ResourceKind } from "./resource-kind";
import { tagMap, type TagMap } from "./tags";

export const DYNAMODB_SOURCE = "dynamodb.amazonaws.com";
export const TABLE_TYPE = "AWS::DynamoDB::Table";

export function tableArn(name: string, account: string, region: string): string {
  return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
}

export function tableRef(name: string, account: string, region: string): ResourceRef {
  return { type: TABLE_TYPE, id: name, arn: tableArn(name, account, region), account, region };
}

/** DynamoDB accepts a table's ARN wherever it takes its name; the name is what follows `table/`. */
function tableNameOf(value: string): string {
  if (!value.startsWith("arn:")) return value;
  const resource = value.split(":").slice(5).join(":");
  return resource.startsWith("table/") ? (resource.slice("table/".length).split("/")[0] ?? value) : value;
}

/** The table a record names: `requestParameters.tableName` (a name or an ARN), or CreateTable's response. */
export function tableRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  const names = [...stringsOf(event.request?.tableName), ...stringsOf(objectAt(event.response, "tableDescription")?.tableName)].map(
    tableNameOf,
  );
  return [...new Set(names)].map((name) => tableRef(name, event.account, event.region));
}

/** A table's tags, every page of them. Throws ResourceNotFoundException when the table is gone. */
async function tableTags(dynamodb: DynamoDBClient, arn: string): Promise<TagMap> {
  const tags: TagMap = {};
  let nextToken: string | undefined;
  do {
    const page = await dynamodb.send(new ListTagsOfResourceCommand({ ResourceArn: arn, ...(nextToken ? { NextToken: nextToken } : {}) }));
    Object.assign(tags, tagMap(page.Tags));
    nextToken = page.NextToken;
  } while (nextToken);
  return tags;
}

async function* listTables(ctx: LiveContext): AsyncGenerator<ResourceRef> {
  const account = await resolveAccount(ctx);
  for (const region of ctx.regions) {
    const dynamodb = await ctx.aws.dynamodb(region);
    for await (const page of paginateListTables({ client: dynamodb }, {})) {
      for (const name of page.TableNames ?? []) yield tableRef(name, account, region);
    }
  }
}

/** DynamoDB tables: listed once per region per sweep run, tagged once per unit of work, for every table control. */
export const tables: ResourceKind = defineResourceKind({
  type: TABLE_TYPE,
  noun: "table",
  list: listTables,
  tags: async (ref, ctx) => tableTags(await ctx.aws.dynamodb(ref.region), ref.arn),
});
