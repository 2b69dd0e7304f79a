import type { JsonObject } from "../support/json";

/** How carrying out one plan ended. `no-longer-applies` is not a failure: the resource was compliant or gone. */
export type ExecutionOutcome =
  | { status: "verified"; before: JsonObject; after: JsonObject }
  | { status: "no-longer-applies"; reason: string }
  | { status: "failed"; stage: "recheck" | "apply" | "verify"; error: { name: string; message: string; code?: string } };
