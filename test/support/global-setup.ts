import type { TestProject } from "vitest/node";
import { ensureCliBundle } from "../../packages/cli/bundle.mjs";
import { ensureMotoInstalled, startMotoServer, type RunningMoto } from "./moto-server";

declare module "vitest" {
  export interface ProvidedContext {
    /** One moto endpoint per worker slot; a test file uses the one for its VITEST_POOL_ID. */
    motoEndpoints: string[];
  }
}

export const WORKER_SLOTS = 2;

let servers: RunningMoto[] = [];

export async function setup(project: TestProject): Promise<void> {
  // CLI tests run the real binary, which runs the bundle: build it once here rather than in racing workers.
  await ensureCliBundle();
  ensureMotoInstalled();
  servers = await Promise.all(Array.from({ length: WORKER_SLOTS }, () => startMotoServer()));
  project.provide(
    "motoEndpoints",
    servers.map((s) => s.endpoint),
  );
}

export async function teardown(): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
}
