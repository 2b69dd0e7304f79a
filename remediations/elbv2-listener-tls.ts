import { ModifyListenerCommand, type Action, type ProtocolEnum } from "@aws-sdk/client-elastic-load-balancing-v2";
import { CATEGORIES, isJsonObject, type ChangeEvent, type JsonObject, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { actionsAsJson, describeListener, listenerRefsFromEvent, listeners } from "./lib/elbv2";
import { objectsOf, stringOf } from "./lib/json-fields";
import { defineSettingControl } from "./lib/setting-control";

const ELB_SOURCE = "elasticloadbalancing.amazonaws.com";
const TLS_VERSIONS = ["1.0", "1.1", "1.2", "1.3"] as const;
type TlsVersion = (typeof TLS_VERSIONS)[number];

const optionsSchema = z
  .strictObject({
    /** The oldest TLS version an HTTPS or TLS listener may accept. */
    minimumTlsVersion: z.enum(["1.2", "1.3"]).default("1.2"),
    /** The security policy a listener below the minimum gets. */
    sslPolicy: z
      .string()
      .regex(/^ELBSecurityPolicy-[A-Za-z0-9-]+$/, "sslPolicy must be an ELBSecurityPolicy-… name")
      .default("ELBSecurityPolicy-TLS13-1-2-2021-06"),
  })
  .prefault({})
  .superRefine((options, issues) => {
    if (compareTls(oldestTlsOf(options.sslPolicy), options.minimumTlsVersion) < 0) {
      issues.addIssue({
        code: "custom",
        path: ["sslPolicy"],
        message: `${options.sslPolicy} accepts TLS older than minimumTlsVersion ${options.minimumTlsVersion}`,
      });
    }
  });

export type ListenerTlsOptions = z.output<typeof optionsSchema>;

/** A listener reduced to what this control judges and rollback restores. */
export type ListenerSetting = { protocol: string; port: number; sslPolicy: string | null; defaultActions: JsonObject[] };

const listenerSettingSchema: z.ZodType<ListenerSetting> = z.object({
  protocol: z.string().min(1),
  port: z.number().int(),
  sslPolicy: z.string().nullable(),
  defaultActions: z.array(z.record(z.string(), z.json()).refine(isJsonObject)),
});

/**
 * The oldest TLS version a predefined ELB security policy accepts, from its name: AWS names them after it
 * (`…-TLS13-1-2-…` and `…-FS-1-2-…` accept TLS 1.2 and up, `…-TLS13-1-3-…` only 1.3, `…-TLS-1-1-…` 1.1).
 * The 2015 and 2016 policies (`ELBSecurityPolicy-2016-08`, the HTTPS default) still accept TLS 1.0.
 */
export function oldestTlsOf(policy: string): TlsVersion {
  if (/-1-3(-|$)/.test(policy)) return "1.3";
  if (/-1-2(-|$)/.test(policy)) return "1.2";
  if (/-1-1(-|$)/.test(policy)) return "1.1";
  return "1.0";
}

function compareTls(a: TlsVersion, b: TlsVersion): number {
  return TLS_VERSIONS.indexOf(a) - TLS_VERSIONS.indexOf(b);
}

/** Every default action is a redirect to HTTPS: the listener carries no plaintext content. */
function redirectsToHttps(actions: ListenerSetting["defaultActions"]): boolean {
  return (
    actions.length > 0 &&
    actions.every((action) => {
      const redirect = action.RedirectConfig;
      return (
        action.Type === "redirect" &&
        typeof redirect === "object" &&
        redirect !== null &&
        !Array.isArray(redirect) &&
        redirect.Protocol === "HTTPS"
      );
    })
  );
}

/** Keeps host, path and query, so every plaintext URL lands on the same HTTPS URL. */
export const HTTPS_REDIRECT = {
  Type: "redirect",
  RedirectConfig: { Protocol: "HTTPS", Port: "443", Host: "#{host}", Path: "/#{path}", Query: "#{query}", StatusCode: "HTTP_301" },
};

export function listenerShortfall(listener: ListenerSetting, options: ListenerTlsOptions): string | undefined {
  if (listener.protocol === "HTTP") {
    return redirectsToHttps(listener.defaultActions) ? undefined : `serves plaintext HTTP on port ${listener.port}`;
  }
  if (listener.protocol === "HTTPS" || listener.protocol === "TLS") {
    const policy = listener.sslPolicy ?? "(none)";
    const oldest = oldestTlsOf(policy);
    if (compareTls(oldest, options.minimumTlsVersion) < 0) {
      return `uses security policy ${policy}, which accepts TLS ${oldest}; the policy requires TLS ${options.minimumTlsVersion} or newer`;
    }
  }
  // TCP and UDP listeners of Network Load Balancers pass bytes through: whether they carry TLS is the target's business.
  return undefined;
}

function requiredListener(current: ListenerSetting, options: ListenerTlsOptions): ListenerSetting {
  if (current.protocol === "HTTP") return { ...current, defaultActions: [HTTPS_REDIRECT] };
  if (current.protocol === "HTTPS" || current.protocol === "TLS") return { ...current, sslPolicy: options.sslPolicy };
  return current;
}

function describeListenerSetting(listener: ListenerSetting): string {
  if (listener.protocol === "HTTP") {
    return redirectsToHttps(listener.defaultActions) ? `HTTP:${listener.port} redirecting to HTTPS` : `plaintext HTTP:${listener.port}`;
  }
  return `${listener.protocol}:${listener.port}${listener.sslPolicy ? ` with ${listener.sslPolicy}` : ""}`;
}

/** What the event says the listener became: CreateListener echoes the listener, ModifyListener may hold part of it. */
function listenerFromEvent(event: ChangeEvent, ref: ResourceRef): ListenerSetting | undefined {
  const echoed = objectsOf(event.response?.listeners).find((listener) => stringOf(listener.listenerArn) === ref.arn);
  const source = echoed ?? event.request;
  const protocol = stringOf(source?.protocol);
  const port = Number(source?.port);
  if (!protocol || !Number.isInteger(port)) return undefined;
  return {
    protocol,
    port,
    sslPolicy: stringOf(source?.sslPolicy) ?? null,
    defaultActions: objectsOf(source?.defaultActions).map((action) => ({
      Type: stringOf(action.type) ?? "",
      ...(action.redirectConfig
        ? { RedirectConfig: { Protocol: stringOf((action.redirectConfig as { protocol?: string }).protocol) ?? "" } }
        : {}),
    })),
  };
}

export const control = defineSettingControl({
  id: "elbv2-listener-tls",
  title: "Load balancer listeners encrypt traffic with current TLS",
  category: "encryption-in-transit",
  hipaa: {
    sections: [...CATEGORIES["encryption-in-transit"].hipaa],
    why: "A plaintext HTTP listener or one that still accepts TLS 1.0 lets ePHI cross the network readable or weakly encrypted; 164.312(e)(1) asks for transmission security.",
  },
  severity: "high",
  // A redirect or a stricter policy changes what clients can connect with: a person approves it by default.
  defaultMode: "approve",
  options: optionsSchema,
  triggers: [
    { source: ELB_SOURCE, name: "CreateListener", resources: listenerRefsFromEvent },
    { source: ELB_SOURCE, name: "ModifyListener", resources: listenerRefsFromEvent },
  ],
  permissions: {
    detect: ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags"],
    apply: ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:ModifyListener"],
    rollback: ["elasticloadbalancing:ModifyListener"],
  },
  kind: listeners,
  setting: listenerSettingSchema,

  async read(ref, ctx) {
    const listener = await describeListener(await ctx.aws.elbv2(ref.region), ref.arn);
    return {
      protocol: listener.Protocol ?? "",
      port: listener.Port ?? 0,
      // Only HTTPS and TLS listeners have a security policy; moto reports one for HTTP listeners too.
      sslPolicy: listener.Protocol === "HTTPS" || listener.Protocol === "TLS" ? (listener.SslPolicy ?? null) : null,
      defaultActions: actionsAsJson(listener.DefaultActions).map(stripTargetGroupStickiness),
    };
  },
  async write(ref, listener, ctx) {
    const elbv2 = await ctx.aws.elbv2(ref.region);
    await elbv2.send(
      new ModifyListenerCommand({
        ListenerArn: ref.arn,
        Protocol: listener.protocol as ProtocolEnum,
        Port: listener.port,
        ...(listener.sslPolicy ? { SslPolicy: listener.sslPolicy } : {}),
        // The API's own action objects (read back from it, or the redirect above), kept as JSON in plans and the log.
        DefaultActions: listener.defaultActions as unknown as Action[],
      }),
    );
  },
  shortfall: listenerShortfall,
  required: requiredListener,
  describe: describeListenerSetting,
  fromEvent: listenerFromEvent,
  summarise: (ref, required) =>
    required.protocol === "HTTP"
      ? `Redirect every request to listener ${ref.id} to HTTPS on port 443.`
      : `Give listener ${ref.id} security policy ${required.sslPolicy ?? ""}.`,
  notes: (_ref, required) =>
    required.protocol === "HTTP"
      ? ["Clients that cannot follow a redirect to HTTPS (old scripts, health checks on this port) stop getting content."]
      : [`Clients that only speak TLS older than the new policy allows can no longer connect.`],
});

/**
 * The API fills in `ForwardConfig` beside a forward action's `TargetGroupArn`, and ModifyListener refuses both
 * together when they disagree; keeping the plain form restores exactly what was set.
 */
function stripTargetGroupStickiness(action: JsonObject): JsonObject {
  if (action.Type === "forward" && typeof action.TargetGroupArn === "string" && action.ForwardConfig !== undefined) {
    const { ForwardConfig: _forward, ...rest } = action;
    return rest;
  }
  return action;
}
