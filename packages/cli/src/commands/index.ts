import type { Command } from "commander";
import * as log from "./log";
import * as proposals from "./proposals";
import * as replay from "./replay";
import * as report from "./report";
import * as rollback from "./rollback";
import * as serve from "./serve";
import * as sweep from "./sweep";

/** Every subcommand, in help order. Each module exports `register(program)`. */
export function registerCommands(program: Command): void {
  replay.register(program);
  sweep.register(program);
  proposals.register(program);
  serve.register(program);
  log.register(program);
  report.register(program);
  rollback.register(program);
}
