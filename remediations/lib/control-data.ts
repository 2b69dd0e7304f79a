import type { z } from "zod";
import { InvalidControlDataError } from "./errors";

/**
 * Checks a plan's params or a captured `before` state against the schema the control wrote it with. Both travel
 * through logs and proposal stores, so they are read back as untrusted data; the error names the first bad field.
 */
export function parseControlData<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join(".") : "(root)";
  throw new InvalidControlDataError(`${what}: field ${field}: ${issue?.message ?? "invalid"}`, { cause: result.error });
}
