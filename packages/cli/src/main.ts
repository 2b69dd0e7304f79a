import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands";
import { inertText } from "./output/terminal-text";

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
    process.stderr.write(`hipaa-remediate: ${inertText(describeError(error))}\n`);
    return isUsageError(error) ? 2 : 1;
  }
}

/** Errors about the user's input (a path, a policy file, an argument): exit 2, message only. */
const USAGE_ERRORS = new Set(["InputPathError", "PolicyError", "UsageError"]);

function isUsageError(error: unknown): boolean {
  return error instanceof Error && USAGE_ERRORS.has(error.name);
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (isUsageError(error)) return error.message;
  const cause = error.cause instanceof Error ? ` (caused by ${error.cause.name}: ${error.cause.message})` : "";
  return `${error.name}: ${error.message}${cause}`;
}
