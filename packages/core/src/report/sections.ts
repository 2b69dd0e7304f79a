import { CATEGORIES, CATEGORY_IDS, type CategoryId } from "../controls/categories";

/** The name 45 CFR Part 164 gives each section the checklist areas cite, so a report reads without the rule at hand. */
const SECTION_NAMES: Readonly<Record<string, string>> = {
  "164.308(a)(1)(ii)(A)": "Risk analysis",
  "164.308(a)(1)(ii)(B)": "Risk management",
  "164.308(a)(1)(ii)(D)": "Information system activity review",
  "164.308(a)(4)(ii)(B)": "Access authorization",
  "164.308(a)(4)(ii)(C)": "Access establishment and modification",
  "164.308(a)(5)(ii)(D)": "Password management",
  "164.308(a)(7)(i)": "Contingency plan",
  "164.308(a)(7)(ii)(A)": "Data backup plan",
  "164.308(a)(7)(ii)(B)": "Disaster recovery plan",
  "164.308(a)(7)(ii)(C)": "Emergency mode operation plan",
  "164.308(a)(8)": "Evaluation",
  "164.312(a)(1)": "Access control",
  "164.312(a)(2)(iv)": "Encryption and decryption",
  "164.312(b)": "Audit controls",
  "164.312(c)(1)": "Integrity",
  "164.312(d)": "Person or entity authentication",
  "164.312(e)(1)": "Transmission security",
  "164.312(e)(2)(ii)": "Encryption (in transmission)",
  "164.316(b)(2)(i)": "Documentation: retention for six years",
};

export interface HipaaSection {
  /** e.g. `164.312(b)` */
  id: string;
  name: string;
  /** The checklist areas that cite it, in checklist order. */
  areas: { id: CategoryId; title: string }[];
}

/** Every section the ten checklist areas cite, once each, in the order of the rule (164.308, then .312, then .316). */
export function hipaaSections(): HipaaSection[] {
  const byId = new Map<string, HipaaSection>();
  for (const area of CATEGORY_IDS) {
    for (const id of CATEGORIES[area].hipaa) {
      const section = byId.get(id) ?? { id, name: SECTION_NAMES[id] ?? id, areas: [] };
      section.areas.push({ id: area, title: CATEGORIES[area].title });
      byId.set(id, section);
    }
  }
  return [...byId.values()].sort((a, b) => compareSectionIds(a.id, b.id));
}

/** Orders `164.308(a)(7)(i)` before `164.308(a)(7)(ii)(A)` and `164.308(a)(8)`: part by part, numbers as numbers. */
export function compareSectionIds(a: string, b: string): number {
  const partsA = sectionParts(a);
  const partsB = sectionParts(b);
  for (let i = 0; i < Math.max(partsA.length, partsB.length); i += 1) {
    const [x, y] = [partsA[i], partsB[i]];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const ROMAN: Readonly<Record<string, number>> = { i: 1, ii: 2, iii: 3, iv: 4, v: 5, vi: 6, vii: 7, viii: 8 };

function sectionParts(id: string): (number | string)[] {
  const [head = "", ...rest] = id.split("(");
  return [
    ...head.split(".").map(Number),
    ...rest.map((part) => {
      const inner = part.replace(/\)$/, "");
      if (/^\d+$/.test(inner)) return Number(inner);
      return ROMAN[inner] ?? inner;
    }),
  ];
}
