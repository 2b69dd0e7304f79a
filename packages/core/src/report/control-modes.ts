import type { AnyControl } from "../controls/contract";
import type { Policy } from "../policy/schema";
import type { ControlMode } from "./model";

/**
 * Each control's mode under the policy, as `decide` starts from it (policy, then the control's default, then the
 * policy default), with the rules that can change it for some findings named rather than evaluated: overrides match
 * on resource tags and accounts, which only a finding has.
 */
export function controlModes(controls: readonly AnyControl[], policy: Policy): ControlMode[] {
  return controls.map((control) => {
    const settings = policy.controls[control.id];
    const fromPolicy = settings?.mode;
    const mode = fromPolicy ?? control.defaultMode ?? policy.defaultMode;
    const modeFrom: ControlMode["modeFrom"] =
      fromPolicy !== undefined ? "policy" : control.defaultMode !== undefined ? "control default" : "policy default";
    const notes: string[] = [];
    policy.overrides.forEach((override, index) => {
      const { controls: only } = override.match;
      if (only && !only.includes(control.id)) return;
      const name = override.description ? ` "${override.description}"` : "";
      notes.push(`override #${index + 1}${name} sets ${override.mode} for matching resources`);
    });
    if (policy.killSwitch.engaged && mode !== "dry-run")
      notes.push(`kill switch engaged: approve and auto become ${policy.killSwitch.fallback}`);
    if (mode === "auto")
      notes.push(
        `rate limit: at most ${policy.rateLimit.maxAutoFixes} automatic fixes per ${policy.rateLimit.windowMinutes} min, then proposals`,
      );
    return {
      control: control.id,
      title: control.title,
      category: control.category,
      enabled: settings?.enabled ?? true,
      mode,
      modeFrom,
      notes,
    };
  });
}
