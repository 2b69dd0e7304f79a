#!/usr/bin/env node
// Launcher: runs the bundled CLI (rebuilt when the sources are newer) in a Node process with a bounded heap.
// Replay streams its input, so a small young generation and a capped old space keep memory flat without
// slowing it down; V8 would otherwise let the heap grow far past what the work needs.
import { spawn } from "node:child_process";
import { ensureCliBundle } from "../bundle.mjs";

const HEAP_FLAGS = ["--max-semi-space-size=4", `--max-old-space-size=${process.env.HIPAA_REMEDIATE_MAX_OLD_SPACE_MB ?? "160"}`];

const bundle = await ensureCliBundle();
const child = spawn(process.execPath, [...HEAP_FLAGS, bundle, ...process.argv.slice(2)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
