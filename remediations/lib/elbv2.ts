import {
  DescribeListenersCommand,
  DescribeTagsCommand,
  paginateDescribeLoadBalancers,
  type Action,
  type ElasticLoadBalancingV2Client,
  type Listener,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { isJsonObject, type ChangeEvent, type JsonObject, type LiveContext, type ResourceRef } from "@hipaa-remediate/core";
import { ResourceGoneError } from "./errors";
import { objectsOf, stringOf } from "./json-fields";
import { defineResourceKind } from "./resource-kind";
import { tagMap } from "./tags";

export const LISTENER_TYPE = "AWS::ElasticLoadBalancingV2::Listener";

/**
 * `arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<lb-name>/<lb-id>/<listener-id>`. The account and
 * region come from the ARN itself, so a listener is named the same way whichever event or listing found it.
 */
export function listenerRef(listenerArn: string, fallback: { account: string; region: string }): ResourceRef {
  const parts = listenerArn.split(":");
  const region = parts[3] || fallback.region;
  const account = parts[4] || fallback.account;
  const id = listenerArn.split(":listener/")[1] ?? listenerArn;
  return { type: LISTENER_TYPE, id, arn: listenerArn, account, region };
}

/** The load balancer a listener belongs to: its tags say whether it serves PHI or production. */
export function loadBalancerArnOf(listenerArn: string): string {
  const [prefix, path = ""] = listenerArn.split(":listener/");
  const loadBalancerPath = path.split("/").slice(0, 3).join("/");
  return `${prefix}:loadbalancer/${loadBalancerPath}`;
}

/**
 * The listeners an event names: CreateListener's new listeners are in `responseElements.listeners[].listenerArn`
 * (the request has only the load balancer); ModifyListener names it in `requestParameters.listenerArn`.
 */
export function listenerRefsFromEvent(event: ChangeEvent): ResourceRef[] {
  const arns = new Set<string>();
  const requested = stringOf(event.request?.listenerArn);
  if (requested) arns.add(requested);
  for (const listener of objectsOf(event.response?.listeners)) {
    const arn = stringOf(listener.listenerArn);
    if (arn) arns.add(arn);
  }
  return [...arns].filter((arn) => arn.includes(":listener/")).map((arn) => listenerRef(arn, event));
}

/** The listener as the API describes it now. Throws ListenerNotFound when it is gone. */
export async function describeListener(elbv2: ElasticLoadBalancingV2Client, listenerArn: string): Promise<Listener> {
  const response = await elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }));
  const [listener] = response.Listeners ?? [];
  if (!listener) throw new ResourceGoneError(`listener ${listenerArn} no longer exists`);
  return listener;
}

/** The actions as plain JSON, dropping the SDK's undefined fields, so they can be planned, hashed and logged. */
export function actionsAsJson(actions: readonly Action[] | undefined): JsonObject[] {
  return (JSON.parse(JSON.stringify(actions ?? [])) as unknown[]).filter(isJsonObject);
}

/** Application and Network Load Balancer listeners, listed once per region per sweep. */
export const listeners = defineResourceKind({
  type: LISTENER_TYPE,
  noun: "listener",
  async *list(ctx: LiveContext) {
    for (const region of ctx.regions) {
      const elbv2 = await ctx.aws.elbv2(region);
      for await (const page of paginateDescribeLoadBalancers({ client: elbv2 }, {})) {
        for (const loadBalancer of page.LoadBalancers ?? []) {
          if (!loadBalancer.LoadBalancerArn) continue;
          const described = await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancer.LoadBalancerArn }));
          for (const listener of described.Listeners ?? []) {
            if (listener.ListenerArn) yield listenerRef(listener.ListenerArn, { account: ctx.account ?? "", region });
          }
        }
      }
    }
  },
  async tags(ref, ctx) {
    const elbv2 = await ctx.aws.elbv2(ref.region);
    const response = await elbv2.send(new DescribeTagsCommand({ ResourceArns: [loadBalancerArnOf(ref.arn)] }));
    return tagMap(response.TagDescriptions?.[0]?.Tags);
  },
});
