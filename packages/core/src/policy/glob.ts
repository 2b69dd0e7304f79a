/**
 * Glob patterns for ARNs and tag values: `*` matches any run of characters (including `:` and `/`, so
 * `arn:aws:s3:::legacy-*` covers every bucket with that prefix), `?` matches exactly one. Everything else is
 * literal and case-sensitive, as ARNs and tag values are.
 */
export function globToRegExp(pattern: string, options: { ignoreCase?: boolean } = {}): RegExp {
  let source = "";
  for (const char of pattern) {
    if (char === "*") source += ".*";
    else if (char === "?") source += ".";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, options.ignoreCase ? "si" : "s");
}

/** `ignoreCase` is for IAM action names, which AWS compares case-insensitively. */
export function matchesGlob(pattern: string, value: string, options: { ignoreCase?: boolean } = {}): boolean {
  return globToRegExp(pattern, options).test(value);
}
