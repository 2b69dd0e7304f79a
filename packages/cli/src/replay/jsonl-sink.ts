import type { Writable } from "node:stream";
import { LineWriter } from "../output/line-writer";
import type { ReplaySink } from "./run-replay";

/**
 * The machine-readable contract (DESIGN.md): one JSON object per line, `finding`, `rejected` and `ignored`
 * lines in input order, and a `summary` line last.
 */
export function jsonlSink(out: Writable): ReplaySink {
  const writer = new LineWriter(out);
  return {
    finding: (finding) => writer.line(JSON.stringify({ type: "finding", ...finding })),
    rejected: (input) => writer.line(JSON.stringify({ type: "rejected", source: input.source, reason: input.reason })),
    ignored: (input) => writer.line(JSON.stringify({ type: "ignored", ...input })),
    async summary(summary) {
      await writer.line(JSON.stringify({ type: "summary", ...summary }));
      await writer.flush();
    },
  };
}
