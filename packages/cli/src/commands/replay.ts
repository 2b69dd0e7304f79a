import { Option, type Command } from "commander";
import { CommitBatcher } from "../local/commit-batcher";
import { engineOptionsFromFlags, openLocalEngine } from "../local/engine";
import { stderrLogger } from "../output/stderr-logger";
import { jsonlSink } from "../replay/jsonl-sink";
import { stderrProgress } from "../replay/progress";
import { runReplay } from "../replay/run-replay";
import { tableSink } from "../replay/table-sink";
import { withEngineOptions, type EngineCliOptions } from "./shared-options";

interface ReplayOptions extends EngineCliOptions {
  format: "table" | "jsonl";
  progress: boolean;
}

export function register(program: Command): void {
  withEngineOptions(
    program
      .command("replay")
      .description(
        "Replay CloudTrail data through the engine: EventBridge envelopes, CloudTrail log files (plain or .gz), " +
          "AWSLogs/ folders, JSON arrays or JSON lines; `-` reads stdin. Dry-run unless --live and the policy say otherwise.",
      )
      .argument("<inputs...>", "files, folders, or - for stdin")
      .addOption(new Option("--format <format>", "output format").choices(["table", "jsonl"]).default("table"))
      .option("--no-progress", "do not report progress on stderr"),
  ).action(async (inputs: string[], options: ReplayOptions) => {
    const logger = stderrLogger(options.verbose);
    const engine = await openLocalEngine({ ...engineOptionsFromFlags(options, logger), rechecks: "at-end" });
    try {
      const sink = options.format === "jsonl" ? jsonlSink(process.stdout) : tableSink(process.stdout);
      // Offline, writes are grouped into bounded transactions; live, every log entry commits on its own.
      const batch = options.live ? undefined : new CommitBatcher(engine.db);
      await runReplay(inputs, engine.deps, sink, stderrProgress(options.progress), batch, engine.deferrals);
    } finally {
      await engine.close();
    }
  });
}
