import { describe, expect, it } from "vitest";
import { parseExemptionTag } from "@hipaa-remediate/core";

describe("exemption tag values", () => {
  it("reads the space-separated form every AWS service accepts", () => {
    expect(
      parseExemptionTag(
        "controls=s3-bucket-default-encryption+s3-bucket-tls-only reason=vendor appliance, see INC-4711 owner=alice@example.com expires=2027-01-31",
      ),
    ).toEqual({
      ok: true,
      exemption: {
        controls: ["s3-bucket-default-encryption", "s3-bucket-tls-only"],
        reason: "vendor appliance, see INC-4711",
        owner: "alice@example.com",
        expires: "2027-01-31T23:59:59.999Z",
      },
    });
  });

  it("reads the semicolon form, in any field order, with a zoned date-time", () => {
    expect(parseExemptionTag("owner=bob@example.com; expires=2027-01-31T08:00:00-05:00;controls=*; reason=forensic hold;")).toEqual({
      ok: true,
      exemption: { controls: ["*"], reason: "forensic hold", owner: "bob@example.com", expires: "2027-01-31T13:00:00.000Z" },
    });
  });

  it.each([
    ["", "expected fields controls=... reason=... owner=... expires=..."],
    ["exempt until further notice", "expected fields controls=... reason=... owner=... expires=..."],
    ["please controls=* reason=r owner=o expires=2027-01-31", 'unexpected text "please" before the first field'],
    ["controls=* reason=r owner=o", "missing expires"],
    ["controls=* reasn=r owner=o expires=2027-01-31", 'unknown field "reasn" (expected controls, reason, owner, expires)'],
    ["controls=* reason=r reason=s owner=o expires=2027-01-31", 'field "reason" appears twice'],
    ["controls=* reason= owner=o expires=2027-01-31", 'field "reason" is empty'],
    ["controls=S3_Encryption reason=r owner=o expires=2027-01-31", '"S3_Encryption" in controls is not a control id'],
    [
      "controls=* reason=r owner=o expires=next year",
      'expires: expected a date (2027-01-31) or a date-time with a time zone (2027-01-31T18:00:00Z), got "next year"',
    ],
    [
      "controls=* reason=r owner=o expires=2027-01-31T08:00:00",
      'expires: expected a date (2027-01-31) or a date-time with a time zone (2027-01-31T18:00:00Z), got "2027-01-31T08:00:00"',
    ],
  ])("rejects %j: %s", (value, problem) => {
    expect(parseExemptionTag(value)).toEqual({ ok: false, problem });
  });
});
