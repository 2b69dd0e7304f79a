import { createReadStream, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { LogEntry } from "./entry";
import { CorruptLogEntryError, RestoreError } from "./errors";
import { parseStoredEntry } from "./stored-entry";

/**
 * The entries in JSON lines exports (`log export --format jsonl`, or the bucket's exports/ objects downloaded with
 * `aws s3 cp --recursive`): files, or folders searched for *.jsonl. Streamed line by line; each line must be an
 * entry exactly as exported (see parseStoredEntry), or the restore stops at it.
 */
export async function* readExportFiles(paths: readonly string[]): AsyncGenerator<LogEntry> {
  if (paths.length === 0) throw new RestoreError("no export files given");
  for (const file of await exportFilesIn(paths)) {
    const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Number.POSITIVE_INFINITY });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber += 1;
      if (line === "") continue;
      if (lineNumber === 1 && line.trimStart().startsWith("[")) {
        throw new RestoreError(`${file} is a JSON array; restore reads JSON lines (log export --format jsonl, or the bucket's exports/)`);
      }
      try {
        yield parseStoredEntry(line, lineNumber);
      } catch (error) {
        if (!(error instanceof CorruptLogEntryError)) throw error;
        throw new RestoreError(`${file} line ${lineNumber}: ${error.message.replace(/^log entry stored at seq \d+ /, "")}`, {
          cause: error,
        });
      }
    }
  }
}

async function exportFilesIn(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (error) {
      throw new RestoreError(`cannot read ${path}`, { cause: error });
    }
    if (!isDirectory) {
      files.push(path);
      continue;
    }
    const found = (await readdir(path, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile() && entry.name.endsWith(".jsonl"))
      .map((entry) => join(entry.parentPath, entry.name))
      .sort();
    if (found.length === 0) throw new RestoreError(`${path} holds no .jsonl export files`);
    files.push(...found);
  }
  return files;
}
