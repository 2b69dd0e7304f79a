import { mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { App, Stack } from "sst/constructs";
import { initProject } from "sst/project.js";
import { registerStacks } from "../../stacks";
import { parseSettings, type AppSettings } from "../../stacks/lib/settings";

export const TEST_ACCOUNT = "123456789012";
export const APP_NAME = "hipaa-remediate";

export interface Synthesised {
  app: App;
  /** Stack ids without the `<stage>-<app>-` prefix, e.g. "Engine". */
  stackIds: string[];
  template(stackId: string): Template;
  stack(stackId: string): Stack;
}

export interface SynthOptions {
  stage: string;
  /** The app region, i.e. `--region`. */
  region: string;
  settings?: Partial<AppSettings>;
}

export function testSettings(region: string, overrides: Partial<AppSettings> = {}): AppSettings {
  return parseSettings({ homeRegion: region, sweepSchedule: "rate(1 day)", sweepRegions: [overrides.homeRegion ?? region], ...overrides });
}

const LOCK_DIR = join(import.meta.dirname, "../../.sst/.infra-test-lock");
const STALE_LOCK_MS = 120_000;

/**
 * SST's App empties and rewrites .sst/types while it is built (constructor and bindings), so two test files
 * building apps at once (vitest runs files in parallel processes) can fail with ENOENT. mkdir is atomic, so a
 * lock directory serialises the building across processes; a lock left by a killed process expires.
 */
async function withBuildLock<T>(build: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(LOCK_DIR), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const age = Date.now() - (statSync(LOCK_DIR, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) rmSync(LOCK_DIR, { recursive: true, force: true });
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    }
  }
  try {
    return await build();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** Builds the app (registerStacks only), without finishing it: for failures that must happen before any synth work. */
export async function buildApp({ stage, region, settings }: SynthOptions): Promise<App> {
  return withBuildLock(async () => {
    // Always with a stage: without one, initProject prompts for a personal stage and the test hangs.
    await initProject({ stage, region });
    const app = new App({ mode: "deploy", stage, name: APP_NAME, region, account: TEST_ACCOUNT });
    registerStacks(app, testSettings(region, settings));
    return app;
  });
}

/**
 * Synthesises the app offline, as `sst deploy` would before deploying: finish() bundles every function with
 * esbuild (deploy mode), so a handler that does not build fails here. NODE_ENV=test (vitest.config.ts) keeps
 * finish() from looking up the AWS bootstrap stack.
 */
export async function synthesise(options: SynthOptions): Promise<Synthesised> {
  const app = await buildApp(options);
  await app.finish();
  const prefix = `${options.stage}-${APP_NAME}-`;
  const stacks = new Map(
    app.node.children.filter((child): child is Stack => child instanceof Stack).map((stack) => [stack.node.id.slice(prefix.length), stack]),
  );
  const templates = new Map<string, Template>();
  function stack(stackId: string): Stack {
    const found = stacks.get(stackId);
    if (found === undefined) throw new Error(`No stack "${stackId}"; the app has ${[...stacks.keys()].join(", ")}`);
    return found;
  }
  return {
    app,
    stackIds: [...stacks.keys()],
    stack,
    template(stackId) {
      const cached = templates.get(stackId);
      if (cached) return cached;
      const template = Template.fromStack(stack(stackId));
      templates.set(stackId, template);
      return template;
    },
  };
}
