import { describe, expect, it } from "vitest";
import { closestMatch, editDistance, formatPath, matchesGlob, normaliseExpiry } from "@hipaa-remediate/core";

describe("suggestions", () => {
  it("measures edit distance case-insensitively", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("KmsKeyId", "kmskeyid")).toBe(0);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("suggests only candidates close enough to be the intended word", () => {
    expect(closestMatch("maxAutoFix", ["maxAutoFixes", "windowMinutes"])).toBe("maxAutoFixes");
    expect(closestMatch("panic", ["engaged", "fallback"])).toBeUndefined();
  });
});

describe("globs", () => {
  it("matches * across ARN separators and ? as one character, everything else literally", () => {
    expect(matchesGlob("arn:aws:s3:::legacy-*", "arn:aws:s3:::legacy-billing")).toBe(true);
    expect(matchesGlob("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:eu-west-1:111122223333:instance/i-1")).toBe(true);
    expect(matchesGlob("arn:aws:s3:::log-?", "arn:aws:s3:::log-ab")).toBe(false);
    expect(matchesGlob("arn:aws:s3:::a.b", "arn:aws:s3:::aXb")).toBe(false);
    expect(matchesGlob("prod", "Prod")).toBe(false);
  });
});

describe("field paths", () => {
  it("writes paths the way a reader finds them in the file", () => {
    expect(formatPath(["overrides", 0, "match", "tags", "cost.center"])).toBe('overrides[0].match.tags["cost.center"]');
    expect(formatPath(["exemptionTag"])).toBe("exemptionTag");
  });
});

describe("expiry dates", () => {
  it("reads dates as the end of that day in UTC and zoned date-times as instants", () => {
    expect(normaliseExpiry("2028-02-29")).toBe("2028-02-29T23:59:59.999Z");
    expect(normaliseExpiry("2027-01-31T18:00Z")).toBe("2027-01-31T18:00:00.000Z");
  });

  it("rejects impossible dates and date-times without a zone", () => {
    expect(normaliseExpiry("2027-02-29")).toBeUndefined();
    expect(normaliseExpiry("2027-13-01")).toBeUndefined();
    expect(normaliseExpiry("2027-01-31 18:00")).toBeUndefined();
    expect(normaliseExpiry("31/01/2027")).toBeUndefined();
  });
});
