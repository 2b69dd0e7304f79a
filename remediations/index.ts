import type { AnyControl } from "@hipaa-remediate/core";

/**
 * The control registry: an explicit list, checked by test/unit/registry.test.ts. Adding a control means adding
 * its file in this folder and one line here.
 */
export const controls: readonly AnyControl[] = [];

export function controlById(id: string): AnyControl | undefined {
  return controls.find((control) => control.id === id);
}
