import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_POLICY,
  MAX_POLICY_BYTES,
  PolicyError,
  controlOptions,
  defaultPolicy,
  loadPolicy,
  loadPolicyFile,
  parsePolicy,
  type Policy,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { ENCRYPTION_ID, encryptionControl, fakeControl, registry, rotationControl } from "./fixtures";
import { parse } from "yaml";
import { z } from "zod";

const EXAMPLE_PATH = join(import.meta.dirname, "../../../policy.example.yaml");

function policyError(text: string, source = "policy.yaml"): PolicyError {
  try {
    parsePolicy(text, source, registry);
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error("expected the policy to be rejected");
}

/** `rateLimit.maxAutoFixes`, ...: the paths of every mapping key, not descending into lists. */
function keyPaths(value: unknown, prefix = ""): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => [`${prefix}${key}`, ...keyPaths(child, `${prefix}${key}.`)]);
}

function messages(text: string): string[] {
  return policyError(text).issues.map((issue) => `${issue.path}: ${issue.message}`);
}

describe("defaults", () => {
  it("an empty file is the built-in default policy", () => {
    const policy = parsePolicy("", "empty.yaml", []);
    expect(policy).toEqual({ ...DEFAULT_POLICY, source: "empty.yaml" });
    expect(policy).toEqual({
      source: "empty.yaml",
      version: 1,
      defaultMode: "dry-run",
      controls: {},
      overrides: [],
      exemptions: [],
      exemptionTag: "hipaa-remediate:exemption",
      rateLimit: { maxAutoFixes: 20, windowMinutes: 60 },
      killSwitch: { engaged: false, fallback: "approve" },
      approvers: { users: [], userGroups: [] },
      slack: {},
      proposals: { expiryHours: 24, reminderAfterHours: 4 },
      audit: { retentionDays: 2190 },
      scope: { regions: "all-enabled" },
      engine: { principals: [] },
      tags: {
        phi: { keys: ["DataClassification", "PHI"], values: ["PHI", "true"] },
        environment: { keys: ["Environment", "Env", "Stage"], nonProduction: ["dev", "development", "test", "sandbox", "staging"] },
        breakGlassRoles: [],
      },
    } satisfies Policy);
  });

  it("a file of comments only, and an empty JSON object, are the default too", () => {
    expect(parsePolicy("# nothing set yet\n", "p.yaml", [])).toEqual({ ...DEFAULT_POLICY, source: "p.yaml" });
    expect(parsePolicy("{}", "p.json", [])).toEqual({ ...DEFAULT_POLICY, source: "p.json" });
    expect(parsePolicy('\uFEFF{"defaultMode": "auto"}', "bom.json", []).defaultMode).toBe("auto");
  });

  it("DEFAULT_POLICY is frozen, so no caller can change the policy everyone shares", () => {
    expect(DEFAULT_POLICY.source).toBe("built-in default");
    expect(Object.isFrozen(DEFAULT_POLICY)).toBe(true);
    expect(Object.isFrozen(DEFAULT_POLICY.tags.phi.keys)).toBe(true);
  });

  it("resolves every registered control's default options at load time", () => {
    const policy = defaultPolicy(registry);
    expect(policy.controls[ENCRYPTION_ID]).toEqual({ enabled: true, options: { bucketKeyEnabled: true } });
    expect(controlOptions(policy, encryptionControl)).toEqual({ bucketKeyEnabled: true });
    expect(controlOptions(policy, rotationControl)).toEqual({ maxAgeDays: 90 });
  });

  it("controlOptions gives a control the policy was not loaded with its defaults", () => {
    expect(controlOptions(DEFAULT_POLICY, rotationControl)).toEqual({ maxAgeDays: 90 });
  });

  it("controlOptions names the field when such a control's defaults are not enough", () => {
    const needsKey = fakeControl("kms-key-required", z.strictObject({ keyArn: z.string() }));
    expect(() => controlOptions(DEFAULT_POLICY, needsKey)).toThrowError(
      "built-in default: controls.kms-key-required.options.keyArn: required",
    );
  });

  it("loadPolicy without a path is the default policy for the registry", async () => {
    expect(await loadPolicy(undefined, registry)).toEqual(defaultPolicy(registry));
  });
});

describe("YAML and JSON", () => {
  const yamlText = `
defaultMode: approve
controls:
  s3-bucket-default-encryption:
    mode: auto
    options: { kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/abc" }
overrides:
  - match: { accounts: ["111122223333"], tags: { Environment: prod } }
    mode: approve
exemptions:
  - resource: "arn:aws:s3:::legacy-*"
    controls: ["*"]
    reason: vendor appliance
    owner: alice@example.com
    expires: 2027-01-31
rateLimit: { maxAutoFixes: 5 }
`;

  it("reads YAML, filling in what the file leaves out", () => {
    const policy = parsePolicy(yamlText, "policy.yaml", registry);
    expect(policy.defaultMode).toBe("approve");
    expect(policy.controls[ENCRYPTION_ID]).toEqual({
      mode: "auto",
      enabled: true,
      options: { kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/abc", bucketKeyEnabled: true },
    });
    expect(policy.overrides).toEqual([{ match: { accounts: ["111122223333"], tags: { Environment: "prod" } }, mode: "approve" }]);
    expect(policy.exemptions[0]?.expires).toBe("2027-01-31T23:59:59.999Z");
    expect(policy.rateLimit).toEqual({ maxAutoFixes: 5, windowMinutes: 60 });
  });

  it("reads the same policy written as JSON to the same result", () => {
    const json = JSON.stringify(
      {
        defaultMode: "approve",
        controls: { [ENCRYPTION_ID]: { mode: "auto", options: { kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/abc" } } },
        overrides: [{ match: { accounts: ["111122223333"], tags: { Environment: "prod" } }, mode: "approve" }],
        exemptions: [
          {
            resource: "arn:aws:s3:::legacy-*",
            controls: ["*"],
            reason: "vendor appliance",
            owner: "alice@example.com",
            expires: "2027-01-31",
          },
        ],
        rateLimit: { maxAutoFixes: 5 },
      },
      null,
      2,
    );
    const fromJson = parsePolicy(json, "policy.json", registry);
    expect(fromJson).toEqual({ ...parsePolicy(yamlText, "policy.json", registry) });
  });

  it("normalises a zoned date-time expiry to UTC", () => {
    const policy = parsePolicy(
      `exemptions: [{ resource: "arn:aws:s3:::a", controls: ["*"], reason: r, owner: o, expires: "2026-12-01T17:00:00+01:00" }]`,
      "p.yaml",
      registry,
    );
    expect(policy.exemptions[0]?.expires).toBe("2026-12-01T16:00:00.000Z");
  });

  it("parses the documented example policy, which uses every field, against the real control registry", () => {
    const policy = parsePolicy(readFileSync(EXAMPLE_PATH, "utf8"), "policy.example.yaml", controls);
    expect(policy.controls["ec2-instance-in-public-subnet"]?.enabled).toBe(false);
    expect(policy.overrides).toHaveLength(3);
    expect(policy.exemptions.map((e) => e.expires)).toEqual(["2027-01-31T23:59:59.999Z", "2026-12-01T16:00:00.000Z"]);
    expect(policy.approvers).toEqual({ users: ["U012AB3CD"], userGroups: ["S0614TZR7"] });
    expect(policy.slack.channel).toBe("C0123456789");
    expect(policy.engine.principals).toEqual(["arn:aws:iam::123456789012:role/hipaa-remediate-engine"]);
    expect(policy.tags.breakGlassRoles).toEqual(["arn:aws:iam::123456789012:role/break-glass"]);
    // Every field the default policy has appears in the example, at every depth.
    const exampleFields = keyPaths(parse(readFileSync(EXAMPLE_PATH, "utf8")));
    const defaultFields = keyPaths(DEFAULT_POLICY).filter((field) => field !== "source");
    expect(exampleFields).toEqual(expect.arrayContaining(defaultFields));
  });

  it("loads a policy file from disk and names the file in errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "policy-"));
    const good = join(dir, "good.yaml");
    writeFileSync(good, "defaultMode: auto\n");
    expect((await loadPolicyFile(good, registry)).defaultMode).toBe("auto");
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "defaultMode: sometimes\n");
    await expect(loadPolicyFile(bad, registry)).rejects.toThrowError(
      `${bad}: defaultMode: expected one of dry-run | approve | auto, got "sometimes"`,
    );
  });

  it("reports a file it cannot read as a PolicyError that keeps the cause", async () => {
    const missing = join(tmpdir(), "no-such-dir-for-policy", "policy.yaml");
    const error = await loadPolicyFile(missing, registry).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PolicyError);
    expect(String(error)).toContain(`${missing}: cannot read the policy file: ENOENT`);
    expect((error as PolicyError).cause).toBeInstanceOf(Error);
  });
});

describe("syntax errors", () => {
  it("gives a JSON syntax error with its line and column, even when Node reports no position", () => {
    const error = policyError('{\n  "defaultMode": "auto",\n  "rateLimit": { "maxAutoFixes": }\n}', "policy.json");
    expect(error.issues).toEqual([{ path: "", message: "JSON syntax error: Unexpected token '}'", line: 3, column: 34 }]);
    expect(error.message).toBe("policy.json: JSON syntax error: Unexpected token '}' (line 3, column 34)");
  });

  it("gives a JSON syntax error that Node positions with its line and column", () => {
    const error = policyError('{\n  "defaultMode": "auto"\n  "version": 1\n}', "policy.json");
    expect(error.issues).toEqual([
      { path: "", message: "JSON syntax error: Expected ',' or '}' after property value", line: 3, column: 3 },
    ]);
  });

  it("rejects duplicate keys in JSON, which JSON.parse would silently resolve", () => {
    const error = policyError('{\n  "defaultMode": "auto",\n  "defaultMode": "dry-run"\n}', "policy.json");
    expect(error.issues).toEqual([{ path: "", message: "Map keys must be unique", line: 3, column: 3 }]);
  });

  it("gives YAML syntax errors with their line and column", () => {
    const error = policyError("defaultMode: auto\nrateLimit:\n  maxAutoFixes: 3\ndefaultMode: approve\n");
    expect(error.issues).toEqual([{ path: "", message: "Map keys must be unique", line: 4, column: 1 }]);
  });

  it("rejects a document that is not a mapping", () => {
    expect(messages("- dry-run\n- auto\n")).toEqual([": expected a mapping, got a list"]);
  });
});

describe("validation errors name the field and what was expected", () => {
  it("a misspelt key names the key and suggests the nearest valid one", () => {
    expect(messages("defaultMod: auto\nrateLimit:\n  maxAutoFix: 5\nproposals:\n  expiryHour: 48\n")).toEqual([
      'defaultMod: unknown key; did you mean "defaultMode"?',
      'rateLimit.maxAutoFix: unknown key; did you mean "maxAutoFixes"?',
      'proposals.expiryHour: unknown key; did you mean "expiryHours"?',
    ]);
  });

  it("an unknown key with no near match lists the valid keys of a small section", () => {
    expect(messages("killSwitch: { panic: true }")).toEqual(["killSwitch.panic: unknown key; expected one of engaged, fallback"]);
  });

  it("a bad mode lists the modes and suggests the nearest", () => {
    expect(messages("overrides:\n  - match: { regions: [eu-west-1] }\n    mode: autoo\n")).toEqual([
      'overrides[0].mode: expected one of dry-run | approve | auto, got "autoo"; did you mean "auto"?',
    ]);
  });

  it("a missing exemption field is required", () => {
    const text = `
exemptions:
  - { resource: "arn:aws:s3:::a", controls: ["*"], reason: r, owner: o, expires: 2027-01-31 }
  - { resource: "arn:aws:s3:::b", controls: ["*"], reason: r, owner: o }
`;
    expect(messages(text)).toEqual(["exemptions[1].expires: required"]);
  });

  it("an unknown control id suggests the registered one it resembles", () => {
    const error = policyError("controls:\n  s3-bucket-default-encrption:\n    mode: auto\n");
    expect(error.message).toBe(
      'policy.yaml: controls.s3-bucket-default-encrption: unknown control; did you mean "s3-bucket-default-encryption"? (line 2, column 3)',
    );
  });

  it("control options are checked against the control's own schema, with the full path", () => {
    const text = `
controls:
  s3-bucket-default-encryption:
    options:
      kmsKeyId: alias/phi
      bucketKeyEnabld: false
`;
    expect(messages(text)).toEqual([
      "controls.s3-bucket-default-encryption.options.kmsKeyId: expected a KMS key ARN",
      'controls.s3-bucket-default-encryption.options.bucketKeyEnabld: unknown key; did you mean "bucketKeyEnabled"?',
    ]);
  });

  it("control ids in exemptions and overrides must be registered", () => {
    const text = `
overrides:
  - match: { controls: [iam-access-key-rotaton] }
    mode: approve
exemptions:
  - { resource: "arn:aws:s3:::a", controls: [s3-encryption], reason: r, owner: o, expires: 2027-01-31 }
`;
    expect(messages(text)).toEqual([
      'overrides[0].match.controls[0]: unknown control "iam-access-key-rotaton"; did you mean "iam-access-key-rotation"?',
      'exemptions[0].controls[0]: unknown control "s3-encryption"',
    ]);
  });

  it("an override needs at least one criterion", () => {
    expect(messages("overrides:\n  - match: {}\n    mode: auto\n")).toEqual([
      "overrides[0].match: expected at least one criterion: accounts, regions, tags or controls",
    ]);
  });

  it("asks for quotes where YAML read an id as a number", () => {
    expect(messages("overrides:\n  - match: { accounts: [111122223333] }\n    mode: auto\n")).toEqual([
      "overrides[0].match.accounts[0]: expected a string, got a number (put it in quotes)",
    ]);
  });

  it("checks formats: account ids, regions, ARNs, Slack ids, expiry dates", () => {
    const text = `
overrides:
  - match: { accounts: ["1234"], regions: [Ireland] }
    mode: auto
exemptions:
  - { resource: "legacy-bucket", controls: ["*"], reason: r, owner: o, expires: 2027-02-30 }
approvers: { users: [alice] }
slack: { channel: "#phi-alerts" }
engine: { principals: ["hipaa-remediate-engine"] }
`;
    expect(messages(text)).toEqual([
      'overrides[0].match.accounts[0]: expected a 12-digit AWS account id, e.g. "111122223333"',
      "overrides[0].match.regions[0]: expected an AWS region name, e.g. eu-west-1",
      "exemptions[0].resource: expected an ARN or an ARN pattern that starts with arn:, e.g. arn:aws:s3:::legacy-*",
      'exemptions[0].expires: expected a date (2027-01-31) or a date-time with a time zone (2027-01-31T18:00:00Z), got "2027-02-30"',
      "approvers.users[0]: expected a Slack user id, e.g. U012AB3CD",
      "slack.channel: expected a Slack channel id (not its name), e.g. C0123456789",
      "engine.principals[0]: expected an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/hipaa-remediate-engine",
    ]);
  });

  it("checks numbers and relations between fields", () => {
    expect(
      messages("rateLimit: { maxAutoFixes: -1, windowMinutes: 1.5 }\nproposals: { expiryHours: 4, reminderAfterHours: 6 }\nversion: 2\n"),
    ).toEqual([
      "rateLimit.maxAutoFixes: expected a number >= 0",
      "rateLimit.windowMinutes: expected a whole number, got 1.5",
      "proposals.reminderAfterHours: must be less than proposals.expiryHours, or the reminder would come after the proposal expired",
      "version: expected 1, got 2",
    ]);
  });

  it("rejects an empty list where one item is the least that makes sense", () => {
    expect(
      messages("exemptions:\n  - { resource: \"arn:aws:s3:::a\", controls: [], reason: ' ', owner: o, expires: 2027-01-31 }\n"),
    ).toEqual(["exemptions[0].controls: expected at least 1 item", "exemptions[0].reason: must not be empty"]);
  });

  it("lists every problem at once, each with its position, in one PolicyError", () => {
    const text = [
      "defaultMode: sometimes",
      "controls:",
      "  s3-bucket-default-encrption: { mode: auto }",
      "killSwitch:",
      "  engaged: yes",
      "",
    ].join("\n");
    const error = policyError(text);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("PolicyError");
    expect(error.cause).toBeDefined();
    expect(error.issues).toEqual([
      { path: "defaultMode", message: 'expected one of dry-run | approve | auto, got "sometimes"', line: 1, column: 1 },
      {
        path: "controls.s3-bucket-default-encrption",
        message: 'unknown control; did you mean "s3-bucket-default-encryption"?',
        line: 3,
        column: 3,
      },
      { path: "killSwitch.engaged", message: "expected true or false, got a string", line: 5, column: 3 },
    ]);
    expect(error.message.split("\n")).toEqual([
      "policy.yaml: 3 problems in the policy",
      '  policy.yaml: defaultMode: expected one of dry-run | approve | auto, got "sometimes" (line 1, column 1)',
      '  policy.yaml: controls.s3-bucket-default-encrption: unknown control; did you mean "s3-bucket-default-encryption"? (line 3, column 3)',
      "  policy.yaml: killSwitch.engaged: expected true or false, got a string (line 5, column 3)",
    ]);
  });

  it("locates problems in JSON files too", () => {
    const error = policyError('{\n  "rateLimit": {\n    "maxAutoFixes": "many"\n  }\n}', "policy.json");
    expect(error.issues).toEqual([{ path: "rateLimit.maxAutoFixes", message: "expected a number, got a string", line: 3, column: 5 }]);
  });

  it("points a missing field at the object that lacks it", () => {
    const error = policyError("exemptions:\n  - resource: arn:aws:s3:::a\n    controls: ['*']\n    reason: r\n    owner: o\n");
    expect(error.issues).toEqual([{ path: "exemptions[0].expires", message: "required", line: 2, column: 5 }]);
  });
});

describe("audit.retentionDays", () => {
  it("defaults to six years and takes a longer period", () => {
    expect(parsePolicy("", "p.yaml", []).audit.retentionDays).toBe(2190);
    expect(parsePolicy("audit: { retentionDays: 3650 }", "p.yaml", []).audit.retentionDays).toBe(3650);
  });

  it("names the field when the period is not a whole number of days", () => {
    expect(() => parsePolicy("audit: { retentionDays: 0.5 }", "p.yaml", [])).toThrow(/audit\.retentionDays/);
    expect(() => parsePolicy("audit: { retentionDays: 0 }", "p.yaml", [])).toThrow(/audit\.retentionDays/);
  });
});

describe("hostile policy files", () => {
  it("refuses a file above the 1 MiB limit before reading it, with the limit in the message", async () => {
    const dir = mkdtempSync(join(tmpdir(), "policy-"));
    const large = join(dir, "large.yaml");
    writeFileSync(large, `defaultMode: auto\n# ${"x".repeat(MAX_POLICY_BYTES)}\n`);
    const error = await loadPolicyFile(large, registry).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PolicyError);
    expect(String(error)).toContain(`${large}: the policy file is larger than the 1,048,576-byte (1 MiB) limit`);
    const atLimit = join(dir, "at-limit.yaml");
    writeFileSync(atLimit, `defaultMode: auto\n#${"x".repeat(MAX_POLICY_BYTES - 20)}\n`);
    expect((await loadPolicyFile(atLimit, registry)).defaultMode).toBe("auto");
    expect(() => parsePolicy(`# ${"x".repeat(MAX_POLICY_BYTES)}`, "inline", registry)).toThrowError(
      /larger than the 1,048,576-byte \(1 MiB\) limit/,
    );
  });

  it("names a number that is not finite, in YAML and in JSON", () => {
    const expected = /^rateLimit\.maxAutoFixes: not a finite number \(it reads as infinity or NaN\)/;
    for (const text of [
      "rateLimit:\n  maxAutoFixes: 1e999\n",
      "rateLimit:\n  maxAutoFixes: .inf\n",
      "rateLimit:\n  maxAutoFixes: .nan\n",
      '{"rateLimit": {"maxAutoFixes": -1e999}}',
    ]) {
      expect(messages(text), text).toEqual([expect.stringMatching(expected)]);
    }
  });

  it("refuses YAML tags, standard or custom, naming the tag and the field", () => {
    expect(messages("defaultMode: !!js/function 'function () {}'\n")).toEqual([
      expect.stringMatching(/^defaultMode: YAML tag !!js\/function is not allowed: a policy holds plain values/),
    ]);
    expect(messages("exemptions:\n  - resource: !custom arn:aws:s3:::b\n")).toEqual([
      expect.stringMatching(/^exemptions\[0\]\.resource: YAML tag !custom is not allowed/),
    ]);
    expect(policyError("defaultMode: !!str auto\n").issues[0]).toMatchObject({ line: 1 });
  });

  it("says the nesting is too deep, in YAML flow style, block style and JSON", () => {
    const flow = `rateLimit: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`;
    expect(policyError(flow).issues).toEqual([
      { path: "", message: expect.stringMatching(/^brackets nest more than 32 levels deep/), line: 1, column: 44 },
    ]);
    const json = `{"rateLimit": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    expect(messages(json)).toEqual([expect.stringMatching(/^: brackets nest more than 32 levels deep/)]);
    // Brackets inside strings and comments are text, not nesting.
    expect(messages(`# ${"[".repeat(100)}\nslack: { channel: "${"{".repeat(40)}" }\n`)).toEqual([
      expect.stringMatching(/^slack\.channel: expected a Slack channel id/),
    ]);
    const block = Array.from({ length: 40 }, (_, depth) => `${" ".repeat(depth)}k${depth}:`).join("\n");
    expect(messages(`${block} 1\n`)).toEqual([expect.stringMatching(/^k0\.k1\.k2\.k3: nested more than 32 levels deep/)]);
  });
});

describe("KMS key options", () => {
  const encryption = controls.find((control) => control.id === "s3-bucket-default-encryption");

  it("accept a key id, a multi-Region key id, a key ARN, an alias and an alias ARN", () => {
    for (const kmsKeyId of [
      "1234abcd-12ab-34cd-56ef-1234567890ab",
      "mrk-1234abcd12ab34cd56ef1234567890ab",
      "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      "alias/phi-data",
      "arn:aws:kms:us-east-1:123456789012:alias/phi-data",
    ]) {
      expect(encryption?.options.safeParse({ kmsKeyId }).success, kmsKeyId).toBe(true);
    }
  });

  it("refuse anything else with a message naming the accepted shapes", () => {
    const text = "controls:\n  s3-bucket-default-encryption:\n    options:\n      kmsKeyId: my-key\n";
    const error = (() => {
      try {
        parsePolicy(text, "policy.yaml", controls);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(PolicyError);
    expect(String(error)).toMatch(
      /controls\.s3-bucket-default-encryption\.options\.kmsKeyId: must name a KMS key: a key id .*, a key ARN, an alias \(alias\/name\) or an alias ARN/,
    );
  });
});
