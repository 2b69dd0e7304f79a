import type { Logger } from "@hipaa-remediate/core";
import { terminalLine } from "./terminal-text";

/** Logs to stderr so stdout stays machine-readable. Debug lines only with --verbose. */
export function stderrLogger(verbose: boolean): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) =>
    process.stderr.write(`${level} ${terminalLine(`${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`)}\n`);
  return {
    debug: (message, fields) => verbose && write("debug", message, fields),
    info: (message, fields) => verbose && write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
  };
}
