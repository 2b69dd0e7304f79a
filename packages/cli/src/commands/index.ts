import type { Command } from "commander";

/** Every subcommand, in help order. Each module exports `register(program)`. */
export function registerCommands(program: Command): void {
  void program;
}
