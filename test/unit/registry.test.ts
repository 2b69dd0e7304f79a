import { readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { CATEGORIES, isCategoryId, isCloudTrailDetailType } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";
import { scenarioFiles } from "../support/scenarios";

const remediationsDir = resolve(import.meta.dirname, "../../remediations");
const controlFiles = readdirSync(remediationsDir)
  .filter((file) => file.endsWith(".ts") && file !== "index.ts")
  .map((file) => basename(file, ".ts"))
  .sort();

/** Meta-tests: every registered control honours the contract, and the registry and the folder agree. */
describe("control registry", () => {
  it("registers exactly the control files in remediations/", () => {
    expect(controls.map((c) => c.id).sort()).toEqual(controlFiles);
  });

  it("holds the four headline controls", () => {
    expect(controls.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        "ec2-instance-in-public-subnet",
        "s3-bucket-default-encryption",
        "phi-tagged-non-production",
        "iam-access-key-stale",
      ]),
    );
  });

  it("has an end-to-end scenario for every control, which the shared EventBridge -> SQS -> handler suite runs", () => {
    expect(scenarioFiles()).toEqual(controlFiles);
  });

  it("has unique ids", () => {
    const ids = controls.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  describe.each(controls.map((c) => [c.id, c] as const))("%s", (id, control) => {
    it("lives in a file named after its id, in kebab-case", async () => {
      expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      const module = (await import(join(remediationsDir, `${id}.ts`))) as { control?: unknown };
      expect(module.control).toBe(control);
    });

    it("belongs to one of the ten checklist areas", () => {
      expect(isCategoryId(control.category)).toBe(true);
    });

    it("names HIPAA sections of its area and says why", () => {
      expect(control.hipaa.sections.length).toBeGreaterThan(0);
      for (const section of control.hipaa.sections) expect(section).toMatch(/^164\.\d{3}\([a-z]\)/);
      const areaSections: readonly string[] = CATEGORIES[control.category].hipaa;
      expect(control.hipaa.sections.some((s) => areaSections.includes(s))).toBe(true);
      expect(control.hipaa.why.length).toBeGreaterThan(20);
    });

    it("declares triggers with a service source and an API name, or an identity condition", () => {
      expect(control.triggers.length).toBeGreaterThan(0);
      for (const trigger of control.triggers) {
        if (trigger.actor) {
          // Identity triggers (e.g. any event by Root) may leave source and name open, and choose their detail-types.
          expect(trigger.actor.types.length).toBeGreaterThan(0);
          for (const type of trigger.actor.types) expect(type).toMatch(/^[A-Z][A-Za-z]+$/);
          for (const detailType of trigger.detailTypes ?? []) expect(isCloudTrailDetailType(detailType)).toBe(true);
          expect(trigger.source).toMatch(/^(\*|[a-z0-9-]+\.amazonaws\.com)$/);
          expect(trigger.name).toMatch(/^(\*|[A-Z][A-Za-z0-9]+)$/);
          continue;
        }
        expect(trigger.detailTypes).toBeUndefined();
        expect(trigger.source).toMatch(/^[a-z0-9-]+\.amazonaws\.com$/);
        expect(trigger.name).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      }
    });

    it("declares exact IAM permissions for detect, apply and rollback, without wildcards", () => {
      const { detect, apply, rollback } = control.permissions;
      expect(detect.length).toBeGreaterThan(0);
      expect(apply.length).toBeGreaterThan(0);
      expect(rollback.length).toBeGreaterThan(0);
      for (const action of [...detect, ...apply, ...rollback]) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
    });

    it("parses an empty options object into complete defaults", () => {
      expect(() => control.options.parse({})).not.toThrow();
    });
  });
});
