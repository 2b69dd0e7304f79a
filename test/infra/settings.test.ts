import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PolicyFileError, resolvePolicyFile } from "../../stacks/lib/policy";
import { DEFAULT_SWEEP_SCHEDULE, SettingsError, parseSettings, settingsFromEnvironment } from "../../stacks/lib/settings";

const noPolicy = () => undefined;

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hipaa-infra-settings-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("settingsFromEnvironment", () => {
  it("defaults to the app region, a daily sweep of the home region and the built-in policy", () => {
    expect(settingsFromEnvironment({}, "eu-west-1", noPolicy)).toEqual({
      homeRegion: "eu-west-1",
      sweepSchedule: DEFAULT_SWEEP_SCHEDULE,
      sweepRegions: ["eu-west-1"],
      policyFile: undefined,
    });
    expect(DEFAULT_SWEEP_SCHEDULE).toBe("rate(1 day)");
  });

  it("reads every HIPAA_* setting", () => {
    const settings = settingsFromEnvironment(
      {
        HIPAA_HOME_REGION: "eu-west-1",
        HIPAA_SWEEP_SCHEDULE: "cron(0 3 * * ? *)",
        HIPAA_SWEEP_REGIONS: "eu-west-1, eu-central-1",
        HIPAA_POLICY_FILE: "policies/prod.yaml",
      },
      "us-east-1",
      (explicit) => `/abs/${explicit ?? "none"}`,
    );
    expect(settings).toEqual({
      homeRegion: "eu-west-1",
      sweepSchedule: "cron(0 3 * * ? *)",
      sweepRegions: ["eu-west-1", "eu-central-1"],
      policyFile: "/abs/policies/prod.yaml",
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
    expect((error as SettingsError).message).toContain("sweepRegions.0: expected an AWS region name");
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
