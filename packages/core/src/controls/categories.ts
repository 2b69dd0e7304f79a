/** The ten checklist areas. Every control belongs to exactly one; its id is the control's `category`. */
export const CATEGORIES = {
  "public-exposure": {
    title: "Public exposure",
    hipaa: ["164.308(a)(1)(ii)(B)", "164.312(a)(1)", "164.312(e)(1)"],
  },
  tagging: { title: "Tagging", hipaa: ["164.308(a)(1)(ii)(B)", "164.308(a)(4)(ii)(B)"] },
  "audit-logging": {
    title: "Audit logging",
    hipaa: ["164.312(b)", "164.308(a)(1)(ii)(D)", "164.312(c)(1)"],
  },
  "credential-rotation": {
    title: "Credential rotation",
    hipaa: ["164.308(a)(5)(ii)(D)", "164.308(a)(4)(ii)(C)"],
  },
  mfa: { title: "Multi-factor authentication", hipaa: ["164.312(d)", "164.312(a)(1)"] },
  "encryption-at-rest": { title: "Encryption at rest", hipaa: ["164.312(a)(2)(iv)", "164.312(c)(1)"] },
  "encryption-in-transit": { title: "Encryption in transit", hipaa: ["164.312(e)(1)", "164.312(e)(2)(ii)"] },
  backup: {
    title: "Backup",
    hipaa: ["164.308(a)(7)(ii)(A)", "164.308(a)(7)(ii)(B)", "164.316(b)(2)(i)"],
  },
  availability: { title: "Availability", hipaa: ["164.308(a)(7)(i)", "164.308(a)(7)(ii)(C)"] },
  "risk-analysis": { title: "Risk analysis", hipaa: ["164.308(a)(1)(ii)(A)", "164.308(a)(8)"] },
} as const satisfies Record<string, { title: string; hipaa: readonly string[] }>;

export type CategoryId = keyof typeof CATEGORIES;

export const CATEGORY_IDS = Object.keys(CATEGORIES) as CategoryId[];

export function isCategoryId(value: string): value is CategoryId {
  return Object.hasOwn(CATEGORIES, value);
}
