import type { ChangeEvent, Control, ControlContext, Finding, JsonObject, ResourceRef, Trigger, Verdict } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { corpusEventsFor } from "./corpus";
import { onlyViolation } from "./control-harness";

/** Shared steps of control tests: a trigger by name, detection on an event's own resource, the corpus verdicts. */

export function triggerNamed<O, P extends JsonObject>(control: Control<O, P>, name: string): Trigger {
  const trigger = control.triggers.find((t) => t.name === name);
  if (!trigger) throw new Error(`${control.id} has no trigger for ${name}`);
  return trigger;
}

/** Detection of the first resource the event names, through the trigger of the event's name. */
export async function detectEvent<O, P extends JsonObject>(
  control: Control<O, P>,
  event: ChangeEvent,
  ctx: ControlContext<O>,
): Promise<Verdict[]> {
  const [resource] = triggerNamed(control, event.name).resources(event);
  if (!resource) throw new Error(`${control.id} found no resource in ${event.name}`);
  return control.detect({ resource, event }, ctx);
}

/** The ids of the resources flagged by any real corpus record of the control's triggers, sorted and unique. */
export async function corpusViolations<O, P extends JsonObject>(control: Control<O, P>, ctx: ControlContext<O>): Promise<string[]> {
  const flagged = new Set<string>();
  for (const trigger of control.triggers) {
    for (const event of corpusEventsFor(trigger)) {
      for (const resource of trigger.resources(event)) {
        for (const verdict of await control.detect({ resource, event }, ctx)) {
          if (verdict.kind === "violation") flagged.add(verdict.finding.resource.id);
        }
      }
    }
  }
  return [...flagged].sort();
}

/**
 * What detection concludes for each real corpus record of one trigger, sorted: `label(resource, finding)` for a
 * record that names a resource (finding undefined when it is not flagged), "no resource" for one that names none.
 */
export async function corpusOutcomes<O, P extends JsonObject>(
  control: Control<O, P>,
  name: string,
  ctx: ControlContext<O>,
  label: (resource: ResourceRef, finding: Finding | undefined) => string,
): Promise<string[]> {
  const trigger = triggerNamed(control, name);
  const events = corpusEventsFor(trigger);
  expect(events.length).toBeGreaterThan(0);
  const outcomes: string[] = [];
  for (const event of events) {
    const [resource, ...more] = trigger.resources(event);
    expect(more).toEqual([]);
    if (!resource) {
      outcomes.push("no resource");
      continue;
    }
    const verdicts = await control.detect({ resource, event }, ctx);
    outcomes.push(label(resource, verdicts.length > 0 ? onlyViolation(verdicts) : undefined));
  }
  return outcomes.sort();
}
