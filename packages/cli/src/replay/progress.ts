/** Progress on stderr for long inputs: a live line on a terminal, a line every few seconds otherwise. */
export interface ProgressReporter {
  update(progress: { records: number; bytes: number; files: number }): void;
  done(): void;
}

const FIRST_REPORT_AFTER_MS = 2_000;

export function stderrProgress(enabled: boolean, now: () => number = Date.now): ProgressReporter {
  const started = now();
  const interactive = Boolean(process.stderr.isTTY);
  const interval = interactive ? 250 : 5_000;
  let lastReport = started;
  let printed = false;
  return {
    update({ records, bytes, files }) {
      if (!enabled) return;
      const t = now();
      if (t - started < FIRST_REPORT_AFTER_MS || t - lastReport < interval) return;
      lastReport = t;
      printed = true;
      const seconds = (t - started) / 1000;
      const line = `replay: ${records.toLocaleString("en-US")} records, ${files} files, ${(bytes / 1e6).toFixed(1)} MB, ${Math.round(records / seconds).toLocaleString("en-US")} records/s`;
      process.stderr.write(interactive ? `\r\u001b[2K${line}` : `${line}\n`);
    },
    done() {
      if (enabled && printed && interactive) process.stderr.write("\n");
    },
  };
}
