import { randomUUID } from "node:crypto";
import { CreateListenerCommand, ModifyListenerCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { UploadServerCertificateCommand } from "@aws-sdk/client-iam";
import type { ChangeEvent, JsonObject } from "@hipaa-remediate/core";
import { controlById } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { HTTPS_REDIRECT, control, oldestTlsOf } from "../../../remediations/elbv2-listener-tls";
import { listenerRef, loadBalancerArnOf } from "../../../remediations/lib/elbv2";
import { cloudTrailRecord } from "../../support/cloudtrail";
import { changeEventOf, liveContext, offlineContext, onlyCleared, onlyViolation } from "../../support/control-harness";
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from "../../support/moto";
import { createHttpListener, createListenerRecord, createLoadBalancer, readListener } from "./scenarios/elbv2-listener-tls";

const moto = useMoto();
const LISTENER_ARN = `arn:aws:elasticloadbalancing:${MOTO_REGION}:${MOTO_ACCOUNT}:listener/app/phi-portal/50dc6c495c0c9188/f2f7dc8efc522ab2`;

function elbEvent(name: string, request: JsonObject | null, response: JsonObject | null = null): ChangeEvent {
  return changeEventOf(
    cloudTrailRecord({
      eventSource: "elasticloadbalancing.amazonaws.com",
      eventName: name,
      requestParameters: request,
      responseElements: response,
    }),
  );
}

function triggerFor(name: string) {
  return control.triggers.find((t) => t.name === name) ?? expect.fail(`no trigger ${name}`);
}

/**
 * moto checks that a listener's certificate exists: an IAM server certificate is the one it accepts without the
 * ACM client. It stores the body without parsing it, so a placeholder is enough (nothing here speaks TLS).
 */
async function serverCertificate(): Promise<string> {
  const uploaded = await (
    await moto.clients.iam()
  ).send(
    new UploadServerCertificateCommand({
      ServerCertificateName: `portal-${randomUUID().slice(0, 8)}`,
      CertificateBody: "-----BEGIN CERTIFICATE-----\nMIIBplaceholder\n-----END CERTIFICATE-----",
      PrivateKey: "-----BEGIN RSA PRIVATE KEY-----\nMIIEplaceholder\n-----END RSA PRIVATE KEY-----",
    }),
  );
  return uploaded.ServerCertificateMetadata?.Arn ?? expect.fail("no certificate ARN");
}

async function httpsListener(sslPolicy: string) {
  const fixture = await createLoadBalancer(moto);
  const certificate = await serverCertificate();
  const elbv2 = await moto.clients.elbv2(MOTO_REGION);
  const created = await elbv2.send(
    new CreateListenerCommand({
      LoadBalancerArn: fixture.loadBalancerArn,
      Protocol: "HTTPS",
      Port: 443,
      SslPolicy: sslPolicy,
      Certificates: [{ CertificateArn: certificate }],
      DefaultActions: [{ Type: "forward", TargetGroupArn: fixture.targetGroupArn }],
    }),
  );
  const arn = created.Listeners?.[0]?.ListenerArn ?? expect.fail("no listener");
  return listenerRef(arn, { account: MOTO_ACCOUNT, region: MOTO_REGION });
}

describe("elbv2-listener-tls: identity, options and triggers", () => {
  it("is registered with exact IAM actions and proposes by default", () => {
    expect(controlById("elbv2-listener-tls")).toBe(control);
    expect(control.category).toBe("encryption-in-transit");
    expect(control.defaultMode).toBe("approve");
    expect(control.triggers.map((t) => t.name)).toEqual(["CreateListener", "ModifyListener"]);
    expect(control.permissions.apply).toContain("elasticloadbalancing:ModifyListener");
  });

  it("defaults to TLS 1.2 and refuses a replacement policy older than the minimum, naming the field", () => {
    expect(control.options.parse({})).toEqual({ minimumTlsVersion: "1.2", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" });
    const weak = control.options.safeParse({ sslPolicy: "ELBSecurityPolicy-2016-08" });
    expect(weak.error?.issues[0]).toMatchObject({ path: ["sslPolicy"], message: expect.stringMatching(/accepts TLS older than/) });
    expect(control.options.safeParse({ minimumTlsVersion: "1.0" }).success).toBe(false);
  });

  it("reads the oldest TLS version from AWS's policy names", () => {
    expect(oldestTlsOf("ELBSecurityPolicy-2016-08")).toBe("1.0");
    expect(oldestTlsOf("ELBSecurityPolicy-TLS-1-1-2017-01")).toBe("1.1");
    expect(oldestTlsOf("ELBSecurityPolicy-TLS13-1-2-2021-06")).toBe("1.2");
    expect(oldestTlsOf("ELBSecurityPolicy-FS-1-2-Res-2020-10")).toBe("1.2");
    expect(oldestTlsOf("ELBSecurityPolicy-TLS13-1-3-2021-06")).toBe("1.3");
  });

  it("finds the listener in CreateListener's response and in ModifyListener's request, and nothing in null parameters", () => {
    const created = elbEvent(
      "CreateListener",
      { loadBalancerArn: loadBalancerArnOf(LISTENER_ARN) },
      { listeners: [{ listenerArn: LISTENER_ARN }] },
    );
    expect(triggerFor("CreateListener").resources(created)).toEqual([listenerRef(LISTENER_ARN, { account: "", region: "" })]);
    expect(triggerFor("ModifyListener").resources(elbEvent("ModifyListener", { listenerArn: LISTENER_ARN }))[0]?.id).toBe(
      "app/phi-portal/50dc6c495c0c9188/f2f7dc8efc522ab2",
    );
    expect(triggerFor("ModifyListener").resources(elbEvent("ModifyListener", null))).toEqual([]);
    expect(loadBalancerArnOf(LISTENER_ARN)).toBe(
      `arn:aws:elasticloadbalancing:${MOTO_REGION}:${MOTO_ACCOUNT}:loadbalancer/app/phi-portal/50dc6c495c0c9188`,
    );
  });
});

describe("elbv2-listener-tls: offline detection from the event alone", () => {
  const ref = listenerRef(LISTENER_ARN, { account: MOTO_ACCOUNT, region: MOTO_REGION });
  const offline = offlineContext(moto, control);

  it("flags a new plaintext HTTP listener that forwards", async () => {
    const event = elbEvent("CreateListener", null, {
      listeners: [{ listenerArn: LISTENER_ARN, protocol: "HTTP", port: 80, defaultActions: [{ type: "forward" }] }],
    });
    const finding = onlyViolation(await control.detect({ resource: ref, event }, offline));
    expect(finding).toMatchObject({ confirmed: false, summary: `Listener ${ref.id} serves plaintext HTTP on port 80` });
  });

  it("accepts an HTTP listener that redirects to HTTPS, and a TLS 1.2 policy", async () => {
    const redirect = elbEvent("CreateListener", null, {
      listeners: [
        {
          listenerArn: LISTENER_ARN,
          protocol: "HTTP",
          port: 80,
          defaultActions: [{ type: "redirect", redirectConfig: { protocol: "HTTPS" } }],
        },
      ],
    });
    expect(await control.detect({ resource: ref, event: redirect }, offline)).toEqual([]);
    const modern = elbEvent("ModifyListener", {
      listenerArn: LISTENER_ARN,
      protocol: "HTTPS",
      port: "443",
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    });
    expect(await control.detect({ resource: ref, event: modern }, offline)).toEqual([]);
  });

  it("flags an HTTPS listener moved to a TLS 1.0 policy, and says nothing when the request holds no protocol", async () => {
    const weak = elbEvent("ModifyListener", {
      listenerArn: LISTENER_ARN,
      protocol: "HTTPS",
      port: 443,
      sslPolicy: "ELBSecurityPolicy-2016-08",
    });
    expect(onlyViolation(await control.detect({ resource: ref, event: weak }, offline)).summary).toMatch(/accepts TLS 1\.0/);
    expect(await control.detect({ resource: ref, event: elbEvent("ModifyListener", { listenerArn: LISTENER_ARN }) }, offline)).toEqual([]);
  });
});

describe("elbv2-listener-tls: live on moto", () => {
  it("confirms a plaintext listener with the load balancer's tags, and fixes it with a redirect that rollback removes", async () => {
    const fixture = await createLoadBalancer(moto, [{ Key: "DataClassification", Value: "PHI" }]);
    const listener = await createHttpListener(moto, fixture);
    const ref = listenerRef(listener.ListenerArn ?? "", { account: MOTO_ACCOUNT, region: MOTO_REGION });
    const ctx = liveContext(moto, control);
    const event = changeEventOf(createListenerRecord(fixture, listener));
    const finding = onlyViolation(await control.detect({ resource: ref, event }, ctx));
    expect(finding).toMatchObject({ confirmed: true, tags: { DataClassification: "PHI" } });

    const plan = control.plan(finding, ctx.options);
    expect(plan.summary).toBe(`Redirect every request to listener ${ref.id} to HTTPS on port 443.`);
    expect(plan.steps.join(" ")).toMatch(/Clients that cannot follow a redirect/);
    const applied = await control.apply(plan, ctx);
    expect((await readListener(moto, ref.arn)).DefaultActions?.[0]).toMatchObject({
      Type: "redirect",
      RedirectConfig: { Protocol: "HTTPS", Port: "443" },
    });
    expect(await control.verify(plan, ctx)).toMatchObject({ ok: true });

    await control.rollback(plan, applied.before, ctx);
    const restored = await readListener(moto, ref.arn);
    expect(restored.DefaultActions?.map((a) => [a.Type, a.TargetGroupArn])).toEqual([["forward", fixture.targetGroupArn]]);
  });

  it("gives an HTTPS listener on a TLS 1.1 policy the configured policy, and rolls it back", async () => {
    const ref = await httpsListener("ELBSecurityPolicy-TLS-1-1-2017-01");
    const ctx = liveContext(moto, control);
    const finding = onlyViolation(await control.detect({ resource: ref }, ctx));
    expect(finding.summary).toMatch(/ELBSecurityPolicy-TLS-1-1-2017-01, which accepts TLS 1\.1/);
    const plan = control.plan(finding, ctx.options);
    const applied = await control.apply(plan, ctx);
    expect((await readListener(moto, ref.arn)).SslPolicy).toBe("ELBSecurityPolicy-TLS13-1-2-2021-06");
    await control.rollback(plan, applied.before, ctx);
    expect((await readListener(moto, ref.arn)).SslPolicy).toBe("ELBSecurityPolicy-TLS-1-1-2017-01");
  });

  it("ends as no longer applies for a listener fixed meanwhile, or deleted", async () => {
    const ref = await httpsListener("ELBSecurityPolicy-TLS13-1-2-2021-06");
    const ctx = liveContext(moto, control);
    expect(onlyCleared(await control.detect({ resource: ref }, ctx))).toMatch(/meets the policy/);
    const gone = listenerRef(`${ref.arn}0`, { account: MOTO_ACCOUNT, region: MOTO_REGION });
    expect(onlyCleared(await control.detect({ resource: gone }, ctx))).toBe(`listener ${gone.id} no longer exists`);
  });

  it("the sweep lists every listener of every load balancer once, and finds the weak ones", async () => {
    const fixture = await createLoadBalancer(moto);
    const plaintext = await createHttpListener(moto, fixture, 8081);
    const elbv2 = await moto.clients.elbv2(MOTO_REGION);
    const redirected = await createHttpListener(moto, fixture, 8082);
    await elbv2.send(new ModifyListenerCommand({ ListenerArn: redirected.ListenerArn, DefaultActions: [HTTPS_REDIRECT] as never }));
    const ctx = liveContext(moto, control);
    const swept: string[] = [];
    for await (const ref of control.sweep(ctx)) swept.push(ref.arn);
    expect(swept).toEqual(expect.arrayContaining([plaintext.ListenerArn, redirected.ListenerArn]));
    expect(new Set(swept).size).toBe(swept.length);
    const verdicts = await Promise.all(
      [plaintext, redirected].map((l) =>
        control.detect({ resource: listenerRef(l.ListenerArn ?? "", { account: MOTO_ACCOUNT, region: MOTO_REGION }) }, ctx),
      ),
    );
    expect(verdicts.map((v) => v[0]?.kind)).toEqual(["violation", "no-longer-applies"]);
  });
});
