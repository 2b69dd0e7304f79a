import type { TestProject } from "vitest/node";
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
