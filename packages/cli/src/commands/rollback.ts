import { userInfo } from "node:os";
import type { Command } from "commander";
import { rollbackApplied, type LogEntry } from "@hipaa-remediate/core";
import { engineOptionsFromFlags, openLocalEngine } from "../local/engine";
import { stderrLogger } from "../output/stderr-logger";
import { UsageError, withEngineOptions, type EngineCliOptions } from "./shared-options";

export function register(program: Command): void {
  withEngineOptions(
    program
      .command("rollback")
      .description("Undo an applied fix, restoring the state the log captured before it. Changes live AWS state.")
      .argument("<seq>", "sequence number of the `applied` log entry (see `log show --stage applied`)"),
  ).action(async (seqText: string, options: EngineCliOptions) => {
    const seq = Number(seqText);
    if (!Number.isInteger(seq) || seq <= 0) throw new UsageError(`<seq> must be a positive whole number, got "${seqText}"`);
    // Undoing a fix changes live AWS state by definition; --live is implied.
    const engine = await openLocalEngine({ ...engineOptionsFromFlags(options, stderrLogger(options.verbose)), live: true });
    try {
      let applied: LogEntry | undefined;
      for await (const entry of engine.deps.log.read({ fromSeq: seq, limit: 1 })) applied = entry;
      if (!applied || applied.seq !== seq) throw new UsageError(`no log entry ${seq}`);
      const operator = userInfo().username;
      await rollbackApplied(applied, engine.deps, { id: operator, name: operator, via: "cli" });
      process.stdout.write(`rolled back ${applied.plan?.summary ?? `entry ${seq}`} on ${applied.resource?.arn ?? "?"}\n`);
    } finally {
      await engine.close();
    }
  });
}
