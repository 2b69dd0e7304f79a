import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PolicyFileError, resolvePolicyFile } from "../../stacks/lib/policy";
import { DEFAULT_ENABLED_REGIONS } from "@hipaa-remediate/core";
import { DEFAULT_SWEEP_SCHEDULE, SettingsError, parseSettings, settingsFromEnvironment, sweepRegionsFor } from "../../stacks/lib/settings";

const noPolicy = () => undefined;

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hipaa-infra-settings-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("settingsFromEnvironment", () => {
  it("defaults to the app region, a daily sweep of the policy's scope regions and the built-in policy", () => {
    const settings = settingsFromEnvironment({}, "eu-west-1", noPolicy);
    expect(settings).toMatchObject({ homeRegion: "eu-west-1", sweepSchedule: DEFAULT_SWEEP_SCHEDULE, policyFile: undefined });
    expect(settings).not.toHaveProperty("sweepRegions");
    expect(DEFAULT_SWEEP_SCHEDULE).toBe("rate(1 day)");
    expect(sweepRegionsFor(settings, { regions: ["eu-west-1", "eu-central-1"] })).toEqual(["eu-west-1", "eu-central-1"]);
    expect(sweepRegionsFor(settings, { regions: "all-enabled" })).toEqual([...DEFAULT_ENABLED_REGIONS]);
  });

  it("sweeps HIPAA_SWEEP_REGIONS rather than the scope's regions when it is set", () => {
    const settings = settingsFromEnvironment({ HIPAA_SWEEP_REGIONS: "eu-west-1" }, "eu-west-1", noPolicy);
    expect(sweepRegionsFor(settings, { regions: "all-enabled" })).toEqual(["eu-west-1"]);
  });

  it("reads every HIPAA_* setting", () => {
    const settings = settingsFromEnvironment(
      {
        HIPAA_HOME_REGION: "eu-west-1",
        HIPAA_SWEEP_SCHEDULE: "cron(0 3 * * ? *)",
        HIPAA_SWEEP_REGIONS: "eu-west-1, eu-central-1",
        HIPAA_POLICY_FILE: "policies/prod.yaml",
        HIPAA_RISK_ASSESSMENT_SCHEDULE: "rate(14 days)",
        HIPAA_ALARM_EMAIL: "security@example.org",
        HIPAA_ENCRYPTION_KEY: "customer-managed",
      },
      "us-east-1",
      (explicit) => `/abs/${explicit ?? "none"}`,
    );
    expect(settings).toEqual({
      homeRegion: "eu-west-1",
      sweepSchedule: "cron(0 3 * * ? *)",
      riskAssessmentSchedule: "rate(14 days)",
      sweepRegions: ["eu-west-1", "eu-central-1"],
      policyFile: "/abs/policies/prod.yaml",
      alarmEmail: "security@example.org",
      encryptionKey: "customer-managed",
    });
  });

  it("names each invalid setting", () => {
    const error = (() => {
      try {
        settingsFromEnvironment({ HIPAA_HOME_REGION: "europe", HIPAA_SWEEP_SCHEDULE: "daily" }, "us-east-1", noPolicy);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).message).toContain("homeRegion: expected an AWS region name, e.g. eu-west-1");
    expect((error as SettingsError).message).toContain('sweepSchedule: expected an EventBridge schedule expression, e.g. "rate(1 day)"');
  });

  it("rejects an empty sweep region list", () => {
    expect(() => parseSettings({ homeRegion: "us-east-1", sweepSchedule: "rate(1 day)", sweepRegions: [] })).toThrow(/sweepRegions/);
  });
});

describe("resolvePolicyFile", () => {
  it("uses ./policy.yaml when it exists and no file is named, else the built-in default", () => {
    expect(resolvePolicyFile(undefined, dir)).toBeUndefined();
    writeFileSync(join(dir, "policy.yaml"), "defaultMode: dry-run\n");
    expect(resolvePolicyFile(undefined, dir)).toBe(join(dir, "policy.yaml"));
  });

  it("refuses a named file that does not exist", () => {
    expect(() => resolvePolicyFile("missing.yaml", dir)).toThrow(PolicyFileError);
    expect(() => resolvePolicyFile("missing.yaml", dir)).toThrow(`HIPAA_POLICY_FILE: no policy file at ${join(dir, "missing.yaml")}`);
  });

  it("resolves a named file against the project root", () => {
    writeFileSync(join(dir, "named.yaml"), "defaultMode: approve\n");
    expect(resolvePolicyFile("named.yaml", dir)).toBe(join(dir, "named.yaml"));
  });
});

describe("operations settings", () => {
  it("reads HIPAA_ALARM_EMAIL and HIPAA_ENCRYPTION_KEY, and leaves both unset by default", () => {
    const settings = settingsFromEnvironment(
      { HIPAA_ALARM_EMAIL: " security@example.org ", HIPAA_ENCRYPTION_KEY: "customer-managed" },
      "eu-west-1",
      noPolicy,
    );
    expect(settings).toMatchObject({ alarmEmail: "security@example.org", encryptionKey: "customer-managed" });
    const defaults = settingsFromEnvironment({}, "eu-west-1", noPolicy);
    expect(defaults.alarmEmail).toBeUndefined();
    expect(defaults.encryptionKey).toBeUndefined();
  });

  it("names an invalid alarm address and an unknown key setting", () => {
    expect(() => settingsFromEnvironment({ HIPAA_ALARM_EMAIL: "security", HIPAA_ENCRYPTION_KEY: "mine" }, "eu-west-1", noPolicy)).toThrow(
      /alarmEmail: expected an e-mail address[\s\S]*encryptionKey:/,
    );
  });
});
