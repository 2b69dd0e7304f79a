import {
  DescribeTrailsCommand,
  ListTagsCommand,
  type AdvancedEventSelector,
  type EventSelector,
  type GetEventSelectorsCommandOutput,
  type ReadWriteType,
} from "@aws-sdk/client-cloudtrail";
import type { ChangeEvent, JsonObject, LiveContext, ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { resolveAccount } from "./account";
import { hasErrorCode } from "./aws-errors";
import { booleanOf, objectsOf, stringOf, stringsOf } from "./json-fields";
import { defineResourceKind } from "./resource-kind";
import { tagMap, type TagMap } from "./tags";

/**
 * CloudTrail trails: how events name them (a name or an ARN), their listing and tags, and their event selectors
 * in both forms (basic and advanced), read from the API and from CloudTrail's own record of PutEventSelectors.
 */

export const TRAIL_TYPE = "AWS::CloudTrail::Trail";
export const CLOUDTRAIL_SOURCE = "cloudtrail.amazonaws.com";

/** The error CloudTrail answers for a trail that does not exist (by name or by ARN). */
export const TRAIL_NOT_FOUND = "TrailNotFoundException";

const TRAIL_ARN = /^arn:(aws[a-z-]*):cloudtrail:([a-z0-9-]+):([^:]+):trail\/(.+)$/;

export function trailArn(name: string, account: string, region: string): string {
  return `arn:aws:cloudtrail:${region}:${account}:trail/${name}`;
}

export function trailRef(name: string, account: string, region: string): ResourceRef {
  return { type: TRAIL_TYPE, id: name, arn: trailArn(name, account, region), account, region };
}

/**
 * The trail a request names. CloudTrail accepts a trail name or its ARN; an ARN also says the trail's home region
 * and account, which may differ from where the call was made (a multi-region trail is managed from its home).
 */
export function trailRefFromName(nameOrArn: string, event: Pick<ChangeEvent, "account" | "region">): ResourceRef {
  const match = TRAIL_ARN.exec(nameOrArn);
  if (match) {
    const [, partition, region = event.region, account = event.account, name = nameOrArn] = match;
    return { type: TRAIL_TYPE, id: name, arn: `arn:${partition}:cloudtrail:${region}:${account}:trail/${name}`, account, region };
  }
  return trailRef(nameOrArn, event.account, event.region);
}

/** StopLogging, StartLogging, DeleteTrail and UpdateTrail name the trail in `name`; PutEventSelectors in `trailName`. */
export function trailRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  const name = stringOf(event.request?.name) ?? stringOf(event.request?.trailName);
  return name ? [trailRefFromName(name, event)] : [];
}

/** One basic event selector, as plain JSON. */
const basicSelectorSchema = z.object({
  readWriteType: z.enum(["ReadOnly", "WriteOnly", "All"]),
  includeManagementEvents: z.boolean(),
  dataResources: z.array(z.object({ type: z.string(), values: z.array(z.string()) })),
  excludeManagementEventSources: z.array(z.string()),
});

const fieldSelectorSchema = z.object({
  field: z.string().min(1),
  equals: z.array(z.string()),
  notEquals: z.array(z.string()),
  startsWith: z.array(z.string()),
  notStartsWith: z.array(z.string()),
  endsWith: z.array(z.string()),
  notEndsWith: z.array(z.string()),
});

const advancedSelectorSchema = z.object({ name: z.string().nullable(), fieldSelectors: z.array(fieldSelectorSchema) });

/**
 * A trail's event selectors. A trail uses either the basic form or the advanced form, never both; which one is
 * kept so rollback puts back exactly the form that was there.
 */
export const eventSelectorsSchema = z.discriminatedUnion("form", [
  z.object({ form: z.literal("basic"), selectors: z.array(basicSelectorSchema) }),
  z.object({ form: z.literal("advanced"), selectors: z.array(advancedSelectorSchema) }),
]);

export type BasicSelector = z.output<typeof basicSelectorSchema>;
export type AdvancedSelector = z.output<typeof advancedSelectorSchema>;
export type EventSelectors = z.output<typeof eventSelectorsSchema>;

const FIELD_OPERATORS = ["equals", "notEquals", "startsWith", "notStartsWith", "endsWith", "notEndsWith"] as const;
const API_OPERATORS = {
  equals: "Equals",
  notEquals: "NotEquals",
  startsWith: "StartsWith",
  notStartsWith: "NotStartsWith",
  endsWith: "EndsWith",
  notEndsWith: "NotEndsWith",
} as const;

function readWriteTypeOf(value: string | undefined): BasicSelector["readWriteType"] {
  return value === "ReadOnly" || value === "WriteOnly" ? value : "All";
}

/** GetEventSelectors' answer as plain JSON. */
export function selectorsFromApi(
  response: Pick<GetEventSelectorsCommandOutput, "EventSelectors" | "AdvancedEventSelectors">,
): EventSelectors {
  const advanced = response.AdvancedEventSelectors ?? [];
  if (advanced.length > 0) {
    return {
      form: "advanced",
      selectors: advanced.map((selector) => ({
        name: selector.Name ?? null,
        fieldSelectors: (selector.FieldSelectors ?? []).map((field) => ({
          field: field.Field ?? "",
          equals: field.Equals ?? [],
          notEquals: field.NotEquals ?? [],
          startsWith: field.StartsWith ?? [],
          notStartsWith: field.NotStartsWith ?? [],
          endsWith: field.EndsWith ?? [],
          notEndsWith: field.NotEndsWith ?? [],
        })),
      })),
    };
  }
  return {
    form: "basic",
    selectors: (response.EventSelectors ?? []).map((selector) => ({
      readWriteType: readWriteTypeOf(selector.ReadWriteType),
      includeManagementEvents: selector.IncludeManagementEvents ?? true,
      dataResources: (selector.DataResources ?? []).map((resource) => ({ type: resource.Type ?? "", values: resource.Values ?? [] })),
      excludeManagementEventSources: selector.ExcludeManagementEventSources ?? [],
    })),
  };
}

/** Selectors as PutEventSelectors takes them. */
export function selectorsForApi(selectors: EventSelectors): {
  EventSelectors?: EventSelector[];
  AdvancedEventSelectors?: AdvancedEventSelector[];
} {
  if (selectors.form === "advanced") {
    return {
      AdvancedEventSelectors: selectors.selectors.map((selector) => ({
        ...(selector.name !== null ? { Name: selector.name } : {}),
        FieldSelectors: selector.fieldSelectors.map((field) => {
          const operators: Record<string, string[]> = {};
          for (const operator of FIELD_OPERATORS) {
            if (field[operator].length > 0) operators[API_OPERATORS[operator]] = field[operator];
          }
          return { Field: field.field, ...operators };
        }),
      })),
    };
  }
  return {
    EventSelectors: selectors.selectors.map((selector) => ({
      ReadWriteType: selector.readWriteType satisfies `${ReadWriteType}`,
      IncludeManagementEvents: selector.includeManagementEvents,
      DataResources: selector.dataResources.map((resource) => ({ Type: resource.type, Values: resource.values })),
      // Left out when empty (the same meaning), so a restored selector reads back exactly as it was put.
      ...(selector.excludeManagementEventSources.length > 0
        ? { ExcludeManagementEventSources: selector.excludeManagementEventSources }
        : {}),
    })),
  };
}

/**
 * The selectors a PutEventSelectors record sets, or undefined when the record does not show them (null or
 * redacted parameters). Field names are CloudTrail's camel case: `eventSelectors[].includeManagementEvents`.
 */
export function selectorsFromRequest(request: JsonObject | null): EventSelectors | undefined {
  if (!request) return undefined;
  const advanced = objectsOf(request.advancedEventSelectors);
  if (advanced.length > 0) {
    return {
      form: "advanced",
      selectors: advanced.map((selector) => ({
        name: stringOf(selector.name) ?? null,
        fieldSelectors: objectsOf(selector.fieldSelectors).map((field) => ({
          field: stringOf(field.field) ?? "",
          equals: stringsOf(field.equals),
          notEquals: stringsOf(field.notEquals),
          startsWith: stringsOf(field.startsWith),
          notStartsWith: stringsOf(field.notStartsWith),
          endsWith: stringsOf(field.endsWith),
          notEndsWith: stringsOf(field.notEndsWith),
        })),
      })),
    };
  }
  const basic = objectsOf(request.eventSelectors);
  if (basic.length === 0) return undefined;
  return {
    form: "basic",
    selectors: basic.map((selector) => ({
      readWriteType: readWriteTypeOf(stringOf(selector.readWriteType)),
      includeManagementEvents: booleanOf(selector.includeManagementEvents) ?? true,
      dataResources: objectsOf(selector.dataResources).map((resource) => ({
        type: stringOf(resource.type) ?? "",
        values: stringsOf(resource.values),
      })),
      excludeManagementEventSources: stringsOf(selector.excludeManagementEventSources),
    })),
  };
}

function fieldSelector(selector: AdvancedSelector, field: string) {
  return selector.fieldSelectors.find((candidate) => candidate.field === field);
}

/**
 * Whether the selectors record write management events: the calls (StopLogging, PutBucketPolicy, ...) that
 * EventBridge and this engine react to. A trail without any selector logs all management events (a new trail in
 * the emulator reads back `EventSelectors: []`, which AWS treats the same way).
 */
export function logsManagementWrites(selectors: EventSelectors): boolean {
  if (selectors.form === "basic") {
    if (selectors.selectors.length === 0) return true;
    return selectors.selectors.some((selector) => selector.includeManagementEvents && selector.readWriteType !== "ReadOnly");
  }
  return selectors.selectors.some((selector) => {
    const category = fieldSelector(selector, "eventCategory");
    if (!category?.equals.includes("Management")) return false;
    const readOnly = fieldSelector(selector, "readOnly");
    return !readOnly?.equals.includes("true");
  });
}

/** The selectors plus one that logs every management event, in the same form; the others are kept as they are. */
export function withManagementEvents(selectors: EventSelectors): EventSelectors {
  if (logsManagementWrites(selectors)) return selectors;
  if (selectors.form === "advanced") {
    const management: AdvancedSelector = {
      name: "Management events (restored by hipaa-remediate)",
      fieldSelectors: [
        { field: "eventCategory", equals: ["Management"], notEquals: [], startsWith: [], notStartsWith: [], endsWith: [], notEndsWith: [] },
      ],
    };
    return { form: "advanced", selectors: [...selectors.selectors, management] };
  }
  const management: BasicSelector = {
    readWriteType: "All",
    includeManagementEvents: true,
    dataResources: [],
    excludeManagementEventSources: [],
  };
  return { form: "basic", selectors: [...selectors.selectors, management] };
}

/** The trails whose home is one of the sweep's regions; a multi-region trail is listed once, in its home region. */
async function* listTrails(ctx: LiveContext): AsyncGenerator<ResourceRef> {
  const account = await resolveAccount(ctx);
  for (const region of ctx.regions) {
    const cloudTrail = await ctx.aws.cloudTrail(region);
    const response = await cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: false }));
    for (const trail of response.trailList ?? []) {
      if (!trail.Name || (trail.HomeRegion && trail.HomeRegion !== region)) continue;
      yield trail.TrailARN ? trailRefFromName(trail.TrailARN, { account, region }) : trailRef(trail.Name, account, region);
    }
  }
}

/** A trail's tags; a trail that is gone has none (a deleted trail is still a finding for the trail controls). */
async function trailTags(ref: ResourceRef, ctx: LiveContext): Promise<TagMap> {
  const cloudTrail = await ctx.aws.cloudTrail(ref.region);
  try {
    const response = await cloudTrail.send(new ListTagsCommand({ ResourceIdList: [ref.arn] }));
    return tagMap(response.ResourceTagList?.find((entry) => entry.ResourceId === ref.arn)?.TagsList);
  } catch (error) {
    if (hasErrorCode(error, TRAIL_NOT_FOUND, "CloudTrailARNInvalidException", "ResourceNotFoundException")) return {};
    throw error;
  }
}

/** CloudTrail trails: listed once per sweep run and tagged once per unit of work, for every trail control. */
export const trails = defineResourceKind({ type: TRAIL_TYPE, noun: "trail", list: listTrails, tags: trailTags });
