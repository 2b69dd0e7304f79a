/**
 * Glob patterns for ARNs and tag values: `*` matches any run of characters (including `:` and `/`, so
 * `arn:aws:s3:::legacy-*` covers every bucket with that prefix), `?` matches exactly one. Everything else is
 * literal and case-sensitive, as ARNs and tag values are.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (const char of pattern) {
    if (char === "*") source += ".*";
    else if (char === "?") source += ".";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "s");
}

export function matchesGlob(pattern: string, value: string): boolean {
  return globToRegExp(pattern).test(value);
}
