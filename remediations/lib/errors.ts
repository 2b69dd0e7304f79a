/** Errors controls raise from apply, verify and rollback. Each keeps its `cause`. */

/**
 * The resource a plan targets no longer exists. `Code` is "NotFound" so `isNotFound` (lib/aws-errors.ts)
 * treats it like the service's own not-found errors and the runner can end the finding as "no longer applies".
 */
export class ResourceGoneError extends Error {
  readonly Code = "NotFound";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ResourceGoneError";
  }
}

/** A plan or captured `before` state does not have the shape the control wrote; the message names the field. */
export class InvalidControlDataError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InvalidControlDataError";
  }
}

/** A notify-only plan reached apply or rollback, which the runner must never do. */
export class NotifyOnlyPlanError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NotifyOnlyPlanError";
  }
}
