import { userInfo } from "node:os";

/** The person deciding from this machine: the OS account that runs the command, and the name they go by. */
export interface LocalOperator {
  /** The OS user name: what the log can vouch for. */
  id: string;
  /** `--as <name>`, else the OS user name. */
  name: string;
}

/**
 * Who is at the keyboard. The local runner has no login of its own: whoever can run the CLI here (or holds the
 * page's token) already holds the AWS credentials the engine acts with, so they are trusted to decide. The log
 * still records who decided: the OS account, plus the name given with `--as`.
 */
export function localOperator(as?: string): LocalOperator {
  const id = osUserName();
  const name = as?.trim() || id;
  return { id, name };
}

function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    // userInfo throws when the uid has no passwd entry (some containers); the environment still names the user.
    return process.env.USER ?? process.env.USERNAME ?? `uid-${process.getuid?.() ?? "unknown"}`;
  }
}
