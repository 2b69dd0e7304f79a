/** A draft that would put secrets or object contents into the log. `field` is the dotted path at fault. */
export class UnloggableEntryError extends Error {
  readonly field: string;
  constructor(message: string, options: { field: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UnloggableEntryError";
    this.field = options.field;
  }
}

/** A stored row that is not a log entry (unparseable JSON or missing chain fields): someone altered the store. */
export class CorruptLogEntryError extends Error {
  /** The sequence number the store filed the row under. */
  readonly seq: number;
  constructor(message: string, options: { seq: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CorruptLogEntryError";
    this.seq = options.seq;
  }
}

/** Other appenders kept taking the next sequence number; the draft was not appended. */
export class LogAppendConflictError extends Error {
  readonly attempts: number;
  constructor(message: string, options: { attempts: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LogAppendConflictError";
    this.attempts = options.attempts;
  }
}

/** Read options that make no sense, e.g. a negative limit. */
export class InvalidReadOptionsError extends Error {
  readonly field: string;
  constructor(message: string, options: { field: string }) {
    super(message);
    this.name = "InvalidReadOptionsError";
    this.field = options.field;
  }
}

/** A log could not be rebuilt from exports: the target is not empty, or the exports disagree with each other. */
export class RestoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RestoreError";
  }
}
