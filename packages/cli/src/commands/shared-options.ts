import { Option, type Command } from "commander";
import { DEFAULT_DATABASE_PATH } from "@hipaa-remediate/core";

/** Options every engine-backed command shares, so they read the same everywhere. */
export interface EngineCliOptions {
  policy?: string;
  db: string;
  live: boolean;
  endpoint?: string;
  region?: string[];
  verbose: boolean;
}

export function withEngineOptions(command: Command): Command {
  return command
    .option("--policy <file>", "policy file (YAML or JSON); the built-in default is dry-run everywhere")
    .option("--db <file>", "local SQLite store for the log, proposals and idempotency records", DEFAULT_DATABASE_PATH)
    .option("--live", "confirm against live AWS state and carry out the policy's modes (default: offline, dry-run)", false)
    .addOption(
      new Option("--endpoint <url>", "AWS endpoint, e.g. a local emulator (default: the standard AWS configuration)").env(
        "AWS_ENDPOINT_URL",
      ),
    )
    .option("--region <region...>", "regions a sweep covers (default: AWS_REGION or us-east-1)")
    .option("-v, --verbose", "log engine steps to stderr", false);
}

/** The message a user needs, without a stack trace, for errors that are about their input. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UsageError";
  }
}
