import { ListFunctionsCommand, ListTagsCommand } from "@aws-sdk/client-lambda";
import type { LiveContext, ResourceRef } from "@hipaa-remediate/core";
import { resolveAccount } from "./account";
import { defineResourceKind, type ResourceKind } from "./resource-kind";
import type { TagMap } from "./tags";

/**
 * `my-function`, `123456789012:function:my-function`, or a full or partial ARN, with or without a `:qualifier`:
 * every form Lambda's FunctionName parameter accepts. Returns the bare name, or undefined when it is not one.
 */
export function lambdaFunctionName(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const match = /^(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:)?(?:\d{12}:)?(?:function:)?([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9$_-]+)?$/.exec(value);
  return match?.[1];
}

export function lambdaFunctionRef(name: string, account: string, region: string): ResourceRef {
  return { type: "AWS::Lambda::Function", id: name, arn: `arn:aws:lambda:${region}:${account}:function:${name}`, account, region };
}

/** Lambda functions of the sweep's regions, with their tags: shared by every control about functions. */
export const lambdaFunctions: ResourceKind = defineResourceKind({
  type: "AWS::Lambda::Function",
  noun: "Lambda function",
  async *list(ctx: LiveContext) {
    const account = await resolveAccount(ctx);
    for (const region of ctx.regions) {
      const lambda = await ctx.aws.lambda(region);
      // Paged by hand: the SDK's paginator checks the client's class, and the engine's client comes from its own import.
      let marker: string | undefined;
      do {
        const page = await lambda.send(new ListFunctionsCommand({ ...(marker ? { Marker: marker } : {}) }));
        for (const fn of page.Functions ?? []) if (fn.FunctionName) yield lambdaFunctionRef(fn.FunctionName, account, region);
        marker = page.NextMarker;
      } while (marker);
    }
  },
  async tags(ref: ResourceRef, ctx: LiveContext): Promise<TagMap> {
    const lambda = await ctx.aws.lambda(ref.region);
    const { Tags: tags } = await lambda.send(new ListTagsCommand({ Resource: ref.arn }));
    return { ...(tags ?? {}) };
  },
});
