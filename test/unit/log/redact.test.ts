import { describe, expect, it } from "vitest";
import { assertLoggable, MAX_CONFIGURATION_STRING_LENGTH, UnloggableEntryError, type LogDraft } from "@hipaa-remediate/core";
import { sampleLogDraft } from "../../support/log-drafts";

function refusal(draft: LogDraft): UnloggableEntryError {
  try {
    assertLoggable(draft);
  } catch (error) {
    if (error instanceof UnloggableEntryError) return error;
    throw error;
  }
  throw new Error("the draft was accepted");
}

describe("assertLoggable", () => {
  it("refuses a SecretAccessKey in `after`, naming the field but never the value", () => {
    const error = refusal(sampleLogDraft(1, { after: { Credentials: { SecretAccessKey: "wJalrXUtnFEMI/K7MDENG" } } }));
    expect(error.field).toBe("after.Credentials.SecretAccessKey");
    expect(error.message).toContain("after.Credentials.SecretAccessKey");
    expect(error.message).not.toContain("wJalrXUtnFEMI");
  });

  it("matches keys case-insensitively and ignores - and _", () => {
    expect(refusal(sampleLogDraft(1, { details: { secret_string: "x" } })).field).toBe("details.secret_string");
    expect(refusal(sampleLogDraft(1, { before: { BODY: "patient record" } })).field).toBe("before.BODY");
    expect(refusal(sampleLogDraft(1, { after: { "Private-Key": "x" } })).field).toBe("after.Private-Key");
  });

  it("looks inside arrays and into plan params", () => {
    const draft = sampleLogDraft(1);
    const withPlan: LogDraft = {
      ...draft,
      plan: {
        control: "iam-password-policy",
        resource: draft.resource ?? { arn: "", type: "", id: "", account: "", region: "" },
        summary: "Reset the password of the console user",
        steps: ["Set a new password"],
        reversible: false,
        params: { users: [{ UserName: "bob", Password: "hunter2" }] },
      },
    };
    expect(refusal(withPlan).field).toBe("plan.params.users[0].Password");
  });

  it("refuses private keys and strings longer than configuration ever is", () => {
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----";
    expect(refusal(sampleLogDraft(1, { before: { Certificate: pem } })).field).toBe("before.Certificate");
    const dump = "x".repeat(MAX_CONFIGURATION_STRING_LENGTH + 1);
    expect(refusal(sampleLogDraft(1, { details: { notes: [dump] } })).message).toMatch(/details\.notes\[0\] is \d+ characters long/);
  });

  it("accepts configuration, including keys that merely contain a listed word", () => {
    expect(() =>
      assertLoggable(
        sampleLogDraft(1, {
          before: { ContentType: "application/json", MinimumPasswordLength: 8, PasswordReusePrevention: 24 },
          after: { Policy: JSON.stringify({ Statement: [{ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }] }) },
          details: { SecretsManagerArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db" },
        }),
      ),
    ).not.toThrow();
  });
});
