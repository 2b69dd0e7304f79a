import { describe, expect, it } from "vitest";
import { decide, parsePolicy, type Decision, type Mode } from "@hipaa-remediate/core";
import { ENCRYPTION_ID, finding, registry } from "./fixtures";

const NOW = new Date("2026-06-15T12:00:00Z");
const encryption = { id: ENCRYPTION_ID };

function policy(text: string) {
  return parsePolicy(text, "policy.yaml", registry);
}

function decideWith(
  text: string,
  options: {
    control?: { id: string; defaultMode?: Mode };
    tags?: Record<string, string>;
    arn?: string;
    account?: string;
    region?: string;
    autoFixesInWindow?: number;
    now?: Date;
  } = {},
): Decision {
  return decide({
    finding: finding({
      ...(options.arn ? { arn: options.arn } : {}),
      ...(options.account ? { account: options.account } : {}),
      ...(options.region ? { region: options.region } : {}),
      ...(options.tags ? { tags: options.tags } : {}),
    }),
    control: options.control ?? encryption,
    policy: policy(text),
    now: options.now ?? NOW,
    autoFixesInWindow: options.autoFixesInWindow ?? 0,
  });
}

describe("base mode precedence", () => {
  it("uses the policy's default mode when nothing else names one", () => {
    expect(decideWith("")).toEqual({ mode: "dry-run", reason: "policy default mode dry-run", expiredExemptions: [], warnings: [] });
    expect(decideWith("defaultMode: auto").reason).toBe("policy default mode auto");
  });

  it("the control's own default mode beats the policy default", () => {
    const decision = decideWith("defaultMode: auto", { control: { id: ENCRYPTION_ID, defaultMode: "approve" } });
    expect(decision.mode).toBe("approve");
    expect(decision.reason).toBe("control default mode approve");
  });

  it("the policy's mode for the control beats the control's default", () => {
    const decision = decideWith(`controls: { ${ENCRYPTION_ID}: { mode: auto } }`, {
      control: { id: ENCRYPTION_ID, defaultMode: "approve" },
    });
    expect(decision.mode).toBe("auto");
    expect(decision.reason).toBe("control mode auto");
  });

  it("a disabled control is suppressed before anything else is considered", () => {
    const decision = decideWith(`
controls: { ${ENCRYPTION_ID}: { enabled: false, mode: auto } }
overrides: [{ match: { regions: [us-east-1] }, mode: auto }]
exemptions: [{ resource: "arn:aws:s3:::*", controls: ["*"], reason: r, owner: o, expires: 2030-01-01 }]
`);
    expect(decision).toEqual({
      mode: "suppressed",
      reason: `control ${ENCRYPTION_ID} is disabled in the policy`,
      expiredExemptions: [],
      warnings: [],
    });
  });
});

describe("overrides", () => {
  const overrides = `
controls: { ${ENCRYPTION_ID}: { mode: auto } }
overrides:
  - description: production needs a human
    match: { tags: { Environment: prod* } }
    mode: approve
  - match: { accounts: ["444455556666"] }
    mode: dry-run
  - match: { regions: [eu-west-1], controls: [${ENCRYPTION_ID}] }
    mode: approve
`;

  it("matches by tag, with glob values, and names the override in the reason", () => {
    const decision = decideWith(overrides, { tags: { Environment: "production" } });
    expect(decision.mode).toBe("approve");
    expect(decision.reason).toBe('control mode auto; override #1 "production needs a human" (tags Environment=prod*) -> approve');
  });

  it("matches by account", () => {
    const decision = decideWith(overrides, { account: "444455556666" });
    expect(decision.mode).toBe("dry-run");
    expect(decision.reason).toBe("control mode auto; override #2 (accounts 444455556666) -> dry-run");
  });

  it("matches by region and control together; every given criterion must match", () => {
    expect(decideWith(overrides, { region: "eu-west-1" }).reason).toBe(
      `control mode auto; override #3 (regions eu-west-1, controls ${ENCRYPTION_ID}) -> approve`,
    );
    const otherControl = decideWith(overrides, { region: "eu-west-1", control: { id: "iam-access-key-rotation" } });
    expect(otherControl).toMatchObject({ mode: "dry-run", reason: "policy default mode dry-run" });
  });

  it("later matches win over earlier ones, and each match is named", () => {
    const decision = decideWith(overrides, { tags: { Environment: "prod" }, account: "444455556666", region: "eu-west-1" });
    expect(decision.mode).toBe("approve");
    expect(decision.reason).toBe(
      [
        "control mode auto",
        'override #1 "production needs a human" (tags Environment=prod*) -> approve',
        "override #2 (accounts 444455556666) -> dry-run",
        `override #3 (regions eu-west-1, controls ${ENCRYPTION_ID}) -> approve`,
      ].join("; "),
    );
  });

  it("leaves the mode alone when no override matches", () => {
    const decision = decideWith(overrides, { tags: { Environment: "dev" }, account: "123456789012", region: "us-east-1" });
    expect(decision.mode).toBe("auto");
    expect(decision.reason).toBe("control mode auto");
  });

  it("a tag criterion needs the tag present; `*` matches any value", () => {
    const text = "overrides: [{ match: { tags: { CostCenter: '*' } }, mode: approve }]";
    expect(decideWith(text, { tags: {} }).mode).toBe("dry-run");
    expect(decideWith(text, { tags: { CostCenter: "" } }).mode).toBe("approve");
    expect(decideWith(text, { tags: { CostCenter: "4711" } }).mode).toBe("approve");
  });
});

describe("exemptions", () => {
  const fileExemptions = `
defaultMode: auto
exemptions:
  - resource: "arn:aws:s3:::legacy-*"
    controls: [${ENCRYPTION_ID}]
    reason: vendor appliance
    owner: alice@example.com
    expires: 2026-06-15
  - resource: "arn:aws:s3:::old-?"
    controls: ["*"]
    reason: decommissioning
    owner: bob@example.com
    expires: 2026-01-31
`;

  it("an unexpired file exemption matching the ARN glob and the control exempts the finding", () => {
    const decision = decideWith(fileExemptions, { arn: "arn:aws:s3:::legacy-billing" });
    expect(decision).toEqual({
      mode: "exempt",
      reason: "exempt until 2026-06-15T23:59:59.999Z by policy exemption #1 (owner alice@example.com: vendor appliance)",
      exemption: {
        source: "policy",
        resource: "arn:aws:s3:::legacy-*",
        controls: [ENCRYPTION_ID],
        reason: "vendor appliance",
        owner: "alice@example.com",
        expires: "2026-06-15T23:59:59.999Z",
      },
      expiredExemptions: [],
      warnings: [],
    });
  });

  it("a date-only expiry lasts through that day and lapses right after it", () => {
    expect(decideWith(fileExemptions, { arn: "arn:aws:s3:::legacy-billing", now: new Date("2026-06-15T23:59:59.999Z") }).mode).toBe(
      "exempt",
    );
    expect(decideWith(fileExemptions, { arn: "arn:aws:s3:::legacy-billing", now: new Date("2026-06-16T00:00:00Z") }).mode).toBe("auto");
  });

  it("does not exempt other controls or other resources", () => {
    expect(decideWith(fileExemptions, { arn: "arn:aws:s3:::legacy-billing", control: { id: "iam-access-key-rotation" } }).mode).toBe(
      "auto",
    );
    expect(decideWith(fileExemptions, { arn: "arn:aws:s3:::phi-legacy-billing" }).mode).toBe("auto");
    expect(decideWith(fileExemptions, { arn: "arn:aws:s3:::old-ab" }).mode).toBe("auto");
  });

  it("an expired exemption no longer applies and is reported in expiredExemptions", () => {
    const decision = decideWith(fileExemptions, { arn: "arn:aws:s3:::old-a" });
    expect(decision.mode).toBe("auto");
    expect(decision.exemption).toBeUndefined();
    expect(decision.expiredExemptions).toEqual([
      {
        source: "policy",
        resource: "arn:aws:s3:::old-?",
        controls: ["*"],
        reason: "decommissioning",
        owner: "bob@example.com",
        expires: "2026-01-31T23:59:59.999Z",
      },
    ]);
    expect(decision.reason).toBe(
      "policy default mode auto; policy exemption #2 expired 2026-01-31T23:59:59.999Z and no longer applies (owner bob@example.com: decommissioning)",
    );
  });

  it("an exemption tag on the resource exempts it", () => {
    const decision = decideWith("defaultMode: auto", {
      tags: {
        "hipaa-remediate:exemption": `controls=${ENCRYPTION_ID}+iam-access-key-rotation reason=vendor appliance owner=alice@example.com expires=2027-01-31`,
      },
    });
    expect(decision.mode).toBe("exempt");
    expect(decision.exemption).toEqual({
      source: "tag",
      resource: "arn:aws:s3:::phi-claims",
      controls: [ENCRYPTION_ID, "iam-access-key-rotation"],
      reason: "vendor appliance",
      owner: "alice@example.com",
      expires: "2027-01-31T23:59:59.999Z",
    });
    expect(decision.reason).toBe(
      "exempt until 2027-01-31T23:59:59.999Z by tag hipaa-remediate:exemption (owner alice@example.com: vendor appliance)",
    );
  });

  it("reads the exemption tag key the policy names, and ignores tags for other controls", () => {
    const value = "controls=iam-access-key-rotation reason=r owner=o expires=2027-01-31";
    expect(decideWith("exemptionTag: Exempt", { tags: { Exempt: value } }).mode).toBe("dry-run");
    expect(decideWith("exemptionTag: Exempt", { tags: { Exempt: value.replace("iam-access-key-rotation", "*") } }).mode).toBe("exempt");
    expect(decideWith("", { tags: { Exempt: value.replace("iam-access-key-rotation", "*") } }).mode).toBe("dry-run");
  });

  it("an expired exemption tag goes to expiredExemptions", () => {
    const decision = decideWith("", { tags: { "hipaa-remediate:exemption": "controls=* reason=r owner=o expires=2026-06-15T11:59:59Z" } });
    expect(decision.mode).toBe("dry-run");
    expect(decision.expiredExemptions).toEqual([
      { source: "tag", resource: "arn:aws:s3:::phi-claims", controls: ["*"], reason: "r", owner: "o", expires: "2026-06-15T11:59:59.000Z" },
    ]);
  });

  it("an active exemption applies while expired ones that also match are still reported", () => {
    const decision = decideWith(fileExemptions, {
      arn: "arn:aws:s3:::old-a",
      tags: { "hipaa-remediate:exemption": "controls=* reason=extended owner=bob@example.com expires=2026-09-30" },
    });
    expect(decision.mode).toBe("exempt");
    expect(decision.exemption?.source).toBe("tag");
    expect(decision.expiredExemptions.map((e) => e.source)).toEqual(["policy"]);
    expect(decision.reason).toContain("policy exemption #2 expired 2026-01-31T23:59:59.999Z and no longer applies");
  });

  it("a malformed exemption tag is not an exemption; the decision says why it was ignored", () => {
    const decision = decideWith("defaultMode: auto", {
      tags: { "hipaa-remediate:exemption": "controls=* reason=forgot the owner expires=2027-01-31" },
    });
    const warning = "exemption tag hipaa-remediate:exemption on arn:aws:s3:::phi-claims ignored: missing owner";
    expect(decision).toEqual({
      mode: "auto",
      reason: `policy default mode auto; ${warning}`,
      expiredExemptions: [],
      warnings: [warning],
    });
  });
});

describe("kill switch", () => {
  const base = `
controls:
  ${ENCRYPTION_ID}: { mode: auto }
  iam-access-key-rotation: { mode: approve }
  ec2-instance-in-public-subnet: { mode: dry-run }
`;

  it("with fallback approve, auto becomes approve and approve and dry-run stay", () => {
    const text = `${base}killSwitch: { engaged: true, fallback: approve }`;
    const auto = decideWith(text);
    expect(auto.mode).toBe("approve");
    expect(auto.reason).toBe("control mode auto; kill switch engaged -> approve");
    const approve = decideWith(text, { control: { id: "iam-access-key-rotation" } });
    expect(approve).toMatchObject({ mode: "approve", reason: "control mode approve" });
    expect(decideWith(text, { control: { id: "ec2-instance-in-public-subnet" } }).mode).toBe("dry-run");
  });

  it("with fallback dry-run, auto and approve both become dry-run", () => {
    const text = `${base}killSwitch: { engaged: true, fallback: dry-run }`;
    expect(decideWith(text).reason).toBe("control mode auto; kill switch engaged -> dry-run");
    const approve = decideWith(text, { control: { id: "iam-access-key-rotation" } });
    expect(approve).toMatchObject({ mode: "dry-run", reason: "control mode approve; kill switch engaged -> dry-run" });
  });

  it("no override can lift it", () => {
    const text = `${base}overrides: [{ match: { regions: [us-east-1] }, mode: auto }]\nkillSwitch: { engaged: true }`;
    const decision = decideWith(text, { control: { id: "ec2-instance-in-public-subnet" } });
    expect(decision.mode).toBe("approve");
    expect(decision.reason).toBe("control mode dry-run; override #1 (regions us-east-1) -> auto; kill switch engaged -> approve");
  });

  it("disengaged, it changes nothing", () => {
    expect(decideWith(`${base}killSwitch: { engaged: false, fallback: dry-run }`).mode).toBe("auto");
  });
});

describe("rate limit", () => {
  const text = `controls: { ${ENCRYPTION_ID}: { mode: auto } }\nrateLimit: { maxAutoFixes: 3, windowMinutes: 15 }`;

  it("keeps auto below the cap", () => {
    expect(decideWith(text, { autoFixesInWindow: 2 }).mode).toBe("auto");
  });

  it("turns auto into approve at the cap", () => {
    const decision = decideWith(text, { autoFixesInWindow: 3 });
    expect(decision.mode).toBe("approve");
    expect(decision.reason).toBe("control mode auto; rate limit reached (3 of 3 automatic fixes in 15 min) -> approve");
  });

  it("does not touch approve or dry-run", () => {
    expect(decideWith("defaultMode: approve\nrateLimit: { maxAutoFixes: 0 }", { autoFixesInWindow: 10 }).reason).toBe(
      "policy default mode approve",
    );
    expect(decideWith("rateLimit: { maxAutoFixes: 0 }", { autoFixesInWindow: 10 }).mode).toBe("dry-run");
  });

  it("a cap of 0 makes every automatic fix a proposal", () => {
    expect(decideWith("defaultMode: auto\nrateLimit: { maxAutoFixes: 0 }").mode).toBe("approve");
  });
});

describe("purity", () => {
  it("gives the same decision for the same input and does not change the policy", () => {
    const loaded = policy(`defaultMode: auto\noverrides: [{ match: { tags: { Environment: prod } }, mode: approve }]`);
    const snapshot = structuredClone(loaded);
    const input = {
      finding: finding({ tags: { Environment: "prod" } }),
      control: encryption,
      policy: loaded,
      now: NOW,
      autoFixesInWindow: 0,
    };
    expect(decide(input)).toEqual(decide(input));
    expect(loaded).toEqual(snapshot);
  });
});
