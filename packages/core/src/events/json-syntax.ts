/** A JSON syntax error in words that never quote the input (V8 echoes a snippet, which may hold PHI). */
export interface JsonSyntaxProblem {
  message: string;
  /** Character index in the parsed text, when the parser reported one. */
  position?: number;
}

export function jsonSyntaxProblem(error: unknown): JsonSyntaxProblem {
  const raw = error instanceof Error ? error.message : String(error);
  const quoted = /^(Unexpected token .+?), ".*is not valid JSON$/s.exec(raw);
  if (quoted?.[1] !== undefined) return { message: quoted[1] };
  const positioned = /^(.*?) in JSON at position (\d+)/s.exec(raw) ?? /^(.*?) after JSON at position (\d+)/s.exec(raw);
  if (positioned?.[1] !== undefined && positioned[2] !== undefined) {
    return { message: positioned[1], position: Number(positioned[2]) };
  }
  return { message: raw.length > 120 ? `${raw.slice(0, 120)}…` : raw };
}
