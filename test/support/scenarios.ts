import { readdirSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ControlScenario } from "./control-scenario";

const SCENARIO_DIR = resolve(import.meta.dirname, "../integration/controls/scenarios");

/** The ids of the controls that have a scenario file (one per control, named after it). */
export function scenarioFiles(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((file) => file.endsWith(".ts"))
    .map((file) => basename(file, ".ts"))
    .sort();
}

/** Every control's end-to-end scenario, loaded from test/integration/controls/scenarios/. */
export async function allScenarios(): Promise<ControlScenario[]> {
  const scenarios: ControlScenario[] = [];
  for (const id of scenarioFiles()) {
    const module = (await import(pathToFileURL(resolve(SCENARIO_DIR, `${id}.ts`)).href)) as { scenario?: ControlScenario };
    if (!module.scenario) throw new Error(`test/integration/controls/scenarios/${id}.ts exports no \`scenario\``);
    if (module.scenario.control !== id) throw new Error(`scenario file ${id}.ts is for control ${module.scenario.control}`);
    scenarios.push(module.scenario);
  }
  return scenarios;
}
