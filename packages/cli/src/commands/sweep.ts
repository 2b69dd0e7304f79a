import { randomUUID } from "node:crypto";
import { Option, type Command } from "commander";
import { runSweep } from "@hipaa-remediate/core";
import { engineOptionsFromFlags, openLocalEngine } from "../local/engine";
import { LineWriter } from "../output/line-writer";
import { stderrLogger } from "../output/stderr-logger";
import { renderFindings } from "../output/table";
import { terminalLine } from "../output/terminal-text";
import { UsageError, withEngineOptions, type EngineCliOptions } from "./shared-options";

interface SweepOptions extends EngineCliOptions {
  format: "table" | "jsonl";
  control?: string[];
}

export function register(program: Command): void {
  withEngineOptions(
    program
      .command("sweep")
      .description(
        "Scan the account: every control lists its resources and runs its detection; findings go through the same " +
          "policy and runner as events. Reads live AWS state (the standard AWS configuration, or --endpoint).",
      )
      .option("--control <id...>", "only these controls")
      .addOption(new Option("--format <format>", "output format").choices(["table", "jsonl"]).default("table")),
  ).action(async (options: SweepOptions) => {
    const logger = stderrLogger(options.verbose);
    // A sweep reads live state by definition; --live is implied.
    const engine = await openLocalEngine({ ...engineOptionsFromFlags(options, logger), live: true });
    try {
      const selected = options.control?.map((id) => {
        const control = engine.deps.index.byId(id);
        if (!control) throw new UsageError(`--control ${id}: no such control (see remediations/)`);
        return control;
      });
      const report = await runSweep(engine.deps, {
        sweepId: `cli:${randomUUID()}`,
        ...(selected ? { controls: selected } : {}),
      });
      if (options.format === "jsonl") {
        const writer = new LineWriter(process.stdout);
        for (const finding of report.findings) await writer.line(JSON.stringify({ type: "finding", ...finding }));
        for (const failure of report.failures) await writer.line(JSON.stringify({ type: "failure", ...failure }));
        await writer.line(
          JSON.stringify({
            type: "summary",
            sweepId: report.sweepId,
            resources: report.resources,
            findings: report.findings.length,
            failures: report.failures.length,
          }),
        );
        await writer.flush();
      } else {
        process.stdout.write(
          `${report.findings.length ? renderFindings(report.findings) : "No findings."}\n\n` +
            `Sweep ${report.sweepId}: ${report.resources} resources checked, ${report.findings.length} findings, ${report.failures.length} failures\n`,
        );
        for (const failure of report.failures) {
          process.stderr.write(terminalLine(`failed: ${failure.control} ${failure.resource ?? "(listing)"}: ${failure.error}`) + "\n");
        }
      }
    } finally {
      await engine.close();
    }
  });
}
