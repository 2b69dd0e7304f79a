import type { ChangeEvent } from "../events/change-event";
import type { AnyControl, Trigger } from "./contract";

export interface ControlMatch {
  control: AnyControl;
  trigger: Trigger;
}

function key(source: string, name: string): string {
  return `${source}\u0000${name}`;
}

/**
 * Finds the controls whose triggers fit an event. Built once from the registry; each lookup is one map access,
 * so the cost per event does not grow with the number of controls.
 */
export class ControlIndex {
  readonly #byTrigger = new Map<string, ControlMatch[]>();

  constructor(readonly controls: readonly AnyControl[]) {
    for (const control of controls) {
      for (const trigger of control.triggers) {
        const k = key(trigger.source, trigger.name);
        const list = this.#byTrigger.get(k) ?? [];
        list.push({ control, trigger });
        this.#byTrigger.set(k, list);
      }
    }
  }

  match(event: Pick<ChangeEvent, "source" | "name">): readonly ControlMatch[] {
    return this.#byTrigger.get(key(event.source, event.name)) ?? [];
  }

  byId(id: string): AnyControl | undefined {
    return this.controls.find((control) => control.id === id);
  }
}
