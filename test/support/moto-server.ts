import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

/** Pinned emulator version; DESIGN.md's quirks list is written against the 5.2 line. */
export const MOTO_REQUIREMENT = "moto[server]==5.2.5";

const projectRoot = resolve(import.meta.dirname, "../..");
export const venvDir = join(projectRoot, ".venv");
const venvPython = join(venvDir, "bin", "python");
const motoServerBin = join(venvDir, "bin", "moto_server");

export class MotoSetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MotoSetupError";
  }
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (result.status !== 0) {
    throw new MotoSetupError(`\`${command} ${args.join(" ")}\` failed (exit ${result.status}):\n${result.stderr || result.stdout}`, {
      cause: result.error,
    });
  }
}

function installedMotoVersion(): string | undefined {
  if (!existsSync(venvPython) || !existsSync(motoServerBin)) return undefined;
  const result = spawnSync(venvPython, ["-c", "import moto; print(moto.__version__)"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Creates the project-local virtual environment with the pinned moto when it is missing or stale. */
export function ensureMotoInstalled(): void {
  const wanted = MOTO_REQUIREMENT.split("==")[1];
  if (installedMotoVersion() === wanted) return;
  const python = process.env.PYTHON ?? "python3";
  if (!existsSync(venvPython)) run(python, ["-m", "venv", venvDir]);
  run(venvPython, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", MOTO_REQUIREMENT]);
  const installed = installedMotoVersion();
  if (installed !== wanted) {
    throw new MotoSetupError(`expected moto ${wanted} in ${venvDir}, found ${installed ?? "nothing"}`);
  }
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolvePort(address.port);
        else reject(new MotoSetupError("could not allocate a loopback port"));
      });
    });
  });
}

export interface RunningMoto {
  endpoint: string;
  stop(): Promise<void>;
}

async function waitUntilReady(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new MotoSetupError(`moto_server exited with ${child.exitCode} before it was ready:\n${output()}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new MotoSetupError(`moto_server at ${endpoint} was not ready within 60s:\n${output()}`);
}

/** Starts one moto_server on a free loopback port. Each test worker gets its own, because reset is global. */
export async function startMotoServer(): Promise<RunningMoto> {
  const port = await freeLoopbackPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(motoServerBin, ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: "true" },
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  await waitUntilReady(endpoint, child, () => output);
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null) return resolveStop();
        child.once("exit", () => resolveStop());
        child.kill("SIGTERM");
      }),
  };
}
