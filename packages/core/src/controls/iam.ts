import type { AnyControl, Permissions } from "./contract";

export type PermissionPhase = keyof Permissions;
export const PERMISSION_PHASES = ["detect", "apply", "rollback"] as const satisfies readonly PermissionPhase[];

/** One IAM policy statement as plain data, so this module stays free of any infrastructure library. */
export interface PolicyStatementData {
  sid: string;
  effect: "Allow" | "Deny";
  actions: string[];
  resources: string[];
  /** IAM condition block, e.g. `{ StringEquals: { "s3:ResourceAccount": "111122223333" } }`. */
  conditions?: Record<string, Record<string, string | string[]>>;
}

export class ControlPermissionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ControlPermissionError";
  }
}

/** `service:Action`, nothing more: a wildcard or a malformed action would quietly widen the engine's rights. */
const IAM_ACTION = /^([a-z0-9-]+):([A-Za-z0-9]+)$/;

type PermissionSource = Pick<AnyControl, "id" | "permissions">;

/**
 * Every action the controls declare for the given phases, validated, without duplicates (IAM matches actions
 * case-insensitively, so neither does this) and sorted.
 */
export function controlActions(controls: readonly PermissionSource[], phases: readonly PermissionPhase[] = PERMISSION_PHASES): string[] {
  const byLowerCase = new Map<string, string>();
  for (const control of controls) {
    for (const phase of phases) {
      control.permissions[phase].forEach((action, index) => {
        if (!IAM_ACTION.test(action)) {
          throw new ControlPermissionError(
            `controls[${control.id}].permissions.${phase}[${index}]: "${action}" is not a single IAM action (expected service:Action, no wildcards)`,
          );
        }
        const key = action.toLowerCase();
        if (!byLowerCase.has(key)) byLowerCase.set(key, action);
      });
    }
  }
  return [...byLowerCase.values()].sort((a, b) => a.localeCompare(b));
}

function serviceOf(action: string): string {
  return IAM_ACTION.exec(action)?.[1] ?? "";
}

function sidFor(service: string): string {
  const words = service.split("-").map((word) => word.charAt(0).toUpperCase() + word.slice(1));
  return `Controls${words.join("")}`;
}

/**
 * The least-privilege statements for the controls: one statement per service, listing exactly the declared
 * actions. Controls act on resources the engine discovers at run time (any bucket, any instance), so resources
 * are "*"; the actions are what is kept narrow.
 */
export function controlPolicyStatements(
  controls: readonly PermissionSource[],
  phases: readonly PermissionPhase[] = PERMISSION_PHASES,
): PolicyStatementData[] {
  const byService = new Map<string, string[]>();
  for (const action of controlActions(controls, phases)) {
    const service = serviceOf(action);
    byService.set(service, [...(byService.get(service) ?? []), action]);
  }
  return [...byService.entries()].map(([service, actions]) => ({
    sid: sidFor(service),
    effect: "Allow",
    actions,
    resources: ["*"],
  }));
}
