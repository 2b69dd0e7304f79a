import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands";

/** Builds the program. Each command module owns one subcommand and registers itself. */
export function buildProgram(): Command {
  const program = new Command("hipaa-remediate")
    .description("Keep AWS accounts holding PHI inside HIPAA's technical safeguards.")
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program);
  return program;
}

/** Runs the CLI and returns the exit code, so tests can call it in-process. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`hipaa-remediate: ${message}\n`);
    return 1;
  }
}
