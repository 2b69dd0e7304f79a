#!/usr/bin/env node
// Launcher: runs the bundled CLI (rebuilt when the sources are newer) in a Node process with a bounded heap
// (see cliNodeFlags in ../bundle.mjs).
import { spawn } from "node:child_process";
import { cliNodeFlags, ensureCliBundle } from "../bundle.mjs";

const bundle = await ensureCliBundle();
const child = spawn(process.execPath, [...cliNodeFlags(), bundle, ...process.argv.slice(2)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
