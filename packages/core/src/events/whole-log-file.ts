import { ingestValueAt } from "./classify";
import type { ListenScreen, ScreenedResult } from "./ingest-result";

/**
 * Decoded inputs up to this size are held back and, when they turn out to be one CloudTrail log file, parsed with
 * a single JSON.parse instead of being split record by record. CloudTrail delivers files of a few MB; anything
 * larger streams through the splitter, so memory stays bounded by this limit plus one chunk.
 */
export const WHOLE_LOG_FILE_LIMIT = 8 << 20;

/** `{"Records": [` at the start, as the splitter recognises a log file (JSON whitespace only). */
const LOG_FILE_HEAD = /^[ \t\n\r]*\{[ \t\n\r]*"Records"[ \t\n\r]*:[ \t\n\r]*\[/;

/**
 * The results for an input that is exactly one `{"Records": [...]}` log file, the same results the splitter gives
 * it (each element at `<origin>#Records[i]`, anything after the array ignored), or undefined for anything else
 * (JSON lines, arrays, several values, a syntax error), which the splitter then reads to place every error.
 */
export function wholeLogFileResults(text: string, origin: string, listens: ListenScreen | undefined): ScreenedResult[] | undefined {
  if (!LOG_FILE_HEAD.test(text)) return undefined;
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch {
    return undefined;
  }
  const records = (file as { Records?: unknown }).Records;
  if (!Array.isArray(records)) return undefined;
  const out: ScreenedResult[] = [];
  for (let index = 0; index < records.length; index++) {
    const path = `Records[${index}]`;
    ingestValueAt(records[index], { source: `${origin}#${path}`, path }, out, listens);
  }
  return out;
}
