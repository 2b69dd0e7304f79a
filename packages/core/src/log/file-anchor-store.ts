import { mkdirSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { canonicalJson } from "../support/json";
import { anchorSchema, AnchorStoreError, type Anchor, type AnchorStore } from "./anchor";

/**
 * The local anchor store: one anchor per line of a JSON lines file, only ever appended to (O_APPEND, so lines
 * from several processes never interleave) and synced to disk before `publish` returns. A local file is only as
 * safe as the disk it is on: copy it somewhere the log's writers cannot reach (or anchor to S3) when the local
 * log is evidence.
 */
export class FileAnchorStore implements AnchorStore {
  constructor(readonly location: string) {}

  async publish(anchor: Anchor): Promise<void> {
    const line = `${canonicalJson(anchorSchema.parse(anchor))}\n`;
    mkdirSync(dirname(this.location), { recursive: true });
    const file = await open(this.location, "a");
    try {
      await file.appendFile(line, "utf8");
      await file.sync();
    } finally {
      await file.close();
    }
  }

  /** Every anchor in the file; none when it does not exist yet. A line that is not an anchor is an error. */
  async list(): Promise<Anchor[]> {
    let text: string;
    try {
      text = await readFile(this.location, "utf8");
    } catch (error) {
      if (isMissingFile(error)) return [];
      throw new AnchorStoreError(`cannot read the anchors file ${this.location}`, { cause: error });
    }
    const anchors: Anchor[] = [];
    const lines = text.split("\n");
    // A file that does not end in a newline lost its last write, or was edited: either way, say so.
    if (lines.at(-1) !== "") {
      throw new AnchorStoreError(`${this.location}: the last line is incomplete; the anchors file was cut or edited`);
    }
    lines.pop();
    lines.forEach((line, index) => anchors.push(parseAnchorLine(line, `${this.location} line ${index + 1}`)));
    return anchors;
  }
}

/** One anchor in its stored JSON form; `where` names it in the error. */
export function parseAnchorLine(line: string, where: string): Anchor {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    throw new AnchorStoreError(`${where} is not JSON; the anchors were edited`, { cause: error });
  }
  const parsed = anchorSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join(".") : "(anchor)";
    throw new AnchorStoreError(`${where} is not an anchor: ${field}: ${issue?.message ?? "invalid"}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** Where the local anchors of a SQLite log live: next to it, named after it (engine.db -> engine.anchors.jsonl). */
export function anchorsPathFor(databasePath: string): string {
  return `${databasePath.replace(/\.(db|sqlite3?)$/i, "")}.anchors.jsonl`;
}

function isMissingFile(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ENOENT";
}
