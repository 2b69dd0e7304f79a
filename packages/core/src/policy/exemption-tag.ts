import { EXPIRY_FORMAT, normaliseExpiry } from "./expiry";

/**
 * An exemption written on the resource itself, as the value of the policy's `exemptionTag` key:
 *
 *   controls=s3-bucket-default-encryption+s3-bucket-tls-only reason=vendor appliance owner=alice@example.com expires=2027-01-31
 *
 * Fields are `name=value`, separated by spaces or `;`. A value runs until the next `name=`, so `reason` may
 * contain spaces (but not another `word=`). `controls` lists control ids joined by `+`, or `*` for all. The
 * spaced form only uses characters every AWS service accepts in tag values (IAM, RDS and others reject `;`).
 * All four fields are required; `expires` is a date (through the end of that day, UTC) or a zoned date-time.
 */
export interface TagExemption {
  controls: string[];
  reason: string;
  owner: string;
  expires: string;
}

export type ExemptionTagParse = { ok: true; exemption: TagExemption } | { ok: false; problem: string };

export const EXEMPTION_TAG_FIELDS = ["controls", "reason", "owner", "expires"] as const;
type ExemptionTagField = (typeof EXEMPTION_TAG_FIELDS)[number];

const FIELD_START = /(?:^|[\s;])([A-Za-z]+)=/g;
const CONTROL_ID = /^(\*|[a-z0-9]+(-[a-z0-9]+)*)$/;

function isField(name: string): name is ExemptionTagField {
  return (EXEMPTION_TAG_FIELDS as readonly string[]).includes(name);
}

/** Splits `a=1 b=two words;c=3` into its fields, in order, with their raw values. */
function splitFields(value: string): { name: string; value: string }[] {
  const starts = [...value.matchAll(FIELD_START)];
  return starts.map((start, index) => {
    const valueStart = start.index + start[0].length;
    const valueEnd = starts[index + 1]?.index ?? value.length;
    return {
      name: start[1] ?? "",
      value: value
        .slice(valueStart, valueEnd)
        .replace(/[\s;]+$/, "")
        .trim(),
    };
  });
}

export function parseExemptionTag(value: string): ExemptionTagParse {
  const fields = splitFields(value);
  if (fields.length === 0) return { ok: false, problem: `expected fields ${EXEMPTION_TAG_FIELDS.map((f) => `${f}=...`).join(" ")}` };
  const leading = value.slice(0, value.search(FIELD_START)).trim();
  if (leading !== "") return { ok: false, problem: `unexpected text "${leading}" before the first field` };

  const found = new Map<ExemptionTagField, string>();
  for (const field of fields) {
    if (!isField(field.name)) return { ok: false, problem: `unknown field "${field.name}" (expected ${EXEMPTION_TAG_FIELDS.join(", ")})` };
    if (found.has(field.name)) return { ok: false, problem: `field "${field.name}" appears twice` };
    if (field.value === "") return { ok: false, problem: `field "${field.name}" is empty` };
    found.set(field.name, field.value);
  }
  const missing = EXEMPTION_TAG_FIELDS.filter((name) => !found.has(name));
  if (missing.length > 0) return { ok: false, problem: `missing ${missing.join(", ")}` };

  const controls = (found.get("controls") ?? "").split("+").map((id) => id.trim());
  const badControl = controls.find((id) => !CONTROL_ID.test(id));
  if (badControl !== undefined) return { ok: false, problem: `"${badControl}" in controls is not a control id` };
  const rawExpiry = found.get("expires") ?? "";
  const expires = normaliseExpiry(rawExpiry);
  if (expires === undefined) return { ok: false, problem: `expires: expected ${EXPIRY_FORMAT}, got "${rawExpiry}"` };

  return { ok: true, exemption: { controls, reason: found.get("reason") ?? "", owner: found.get("owner") ?? "", expires } };
}
