/**
 * Text from CloudTrail records (bucket names, reasons quoting a field) reaches the operator's terminal. Anyone who
 * can write a log file the operator replays can put escape sequences in it: colour codes that hide a finding, an
 * OSC sequence that retitles the window or writes to the clipboard, a bidirectional override that reverses a
 * resource name. What a terminal prints is therefore made inert: every control character and every invisible
 * direction mark is shown as its `\u` escape, and a value too long to read is cut.
 */

// C0 controls but tab, DEL, C1 controls, and the Unicode direction marks, embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The longest value printed whole; a bucket name is at most 63 characters, and no reason needs more than this. */
export const MAX_TERMINAL_TEXT = 2_000;

/** Inert text that may span lines, such as an error listing each problem of a policy file on a line of its own. */
export function inertText(text: string): string {
  return text.replace(UNPRINTABLE, escapeCharacter);
}

/** Inert text for one line of a terminal: newlines are escaped too, so that a value cannot forge a line of its own. */
export function inertLine(text: string): string {
  return inertText(text).replace(/\n/g, "\\n");
}

/** Inert, on one line, and cut when too long to read, with the length it had. */
export function terminalLine(text: string, maxLength = MAX_TERMINAL_TEXT): string {
  const safe = inertLine(text);
  return safe.length > maxLength ? `${safe.slice(0, maxLength - 1)}… (${safe.length} characters)` : safe;
}

function escapeCharacter(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`;
}
