import { DescribeContinuousBackupsCommand, UpdateContinuousBackupsCommand } from "@aws-sdk/client-dynamodb";
import { CATEGORIES, type ChangeEvent } from "@hipaa-remediate/core";
import { z } from "zod";
import { DYNAMODB_SOURCE, tableRefsFromEvent, tables } from "./lib/dynamodb";
import { booleanOf, objectAt } from "./lib/json-fields";
import { defineSettingControl } from "./lib/setting-control";
import { findPhiMarker, tagsFromList } from "./lib/tags";

const optionsSchema = z
  .strictObject({
    /** `all` tables, or only those tagged as holding PHI. */
    scope: z.enum(["all", "phi"]).default("all"),
  })
  .prefault({});

/** What a record says PITR became: off for a new table (CreateTable cannot turn it on), or the update's value. */
function recoveryInEvent(event: ChangeEvent): boolean | undefined {
  if (event.name === "CreateTable") return false;
  return booleanOf(objectAt(event.request, "pointInTimeRecoverySpecification")?.pointInTimeRecoveryEnabled);
}

/**
 * Point-in-time recovery on DynamoDB tables. Without it a table can only be restored from on-demand backups, if
 * anyone took one; with it, to any second of the last 35 days, which also undoes a bad write or a mass delete.
 */
export const control = defineSettingControl({
  id: "dynamodb-point-in-time-recovery",
  title: "DynamoDB tables keep point-in-time recovery on",
  category: "backup",
  hipaa: {
    sections: [...CATEGORIES.backup.hipaa],
    why: "Point-in-time recovery keeps continuous backups of a table holding ePHI, so an exact copy can be restored to any second of the last 35 days as the data backup plan requires (164.308(a)(7)(ii)(A)).",
  },
  severity: "high",
  options: optionsSchema,
  triggers: [
    { source: DYNAMODB_SOURCE, name: "CreateTable", resources: tableRefsFromEvent },
    { source: DYNAMODB_SOURCE, name: "UpdateContinuousBackups", resources: tableRefsFromEvent },
  ],
  permissions: {
    detect: ["dynamodb:DescribeContinuousBackups", "dynamodb:ListTables", "dynamodb:ListTagsOfResource"],
    apply: ["dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups"],
    rollback: ["dynamodb:UpdateContinuousBackups"],
  },
  kind: tables,
  setting: z.boolean(),
  async read(ref, ctx) {
    const dynamodb = await ctx.aws.dynamodb(ref.region);
    const response = await dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: ref.id }));
    return response.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus === "ENABLED";
  },
  async write(ref, enabled, ctx) {
    const dynamodb = await ctx.aws.dynamodb(ref.region);
    await dynamodb.send(
      new UpdateContinuousBackupsCommand({ TableName: ref.id, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: enabled } }),
    );
  },
  shortfall: (enabled) => (enabled ? undefined : "has point-in-time recovery off"),
  required: () => true,
  describe: (enabled) => (enabled ? "covered by point-in-time recovery" : "not covered by point-in-time recovery"),
  summarise: (ref) => `Turn on point-in-time recovery for table ${ref.id}.`,
  notes: () => [
    "Cost: continuous backups are billed per GB of table size each month.",
    "Rollback turns point-in-time recovery off again, which discards the recovery window built up since.",
  ],
  covers: ({ tags, live, event }, ctx) => {
    if (ctx.options.scope === "all") return true;
    const known = live || !event ? tags : tagsFromList(event.request?.tags);
    return findPhiMarker(known, ctx.tags) !== undefined;
  },
  fromEvent: recoveryInEvent,
});
