/** A proposal with this id is already stored: ids are unique, a second create is a bug in the caller. */
export class ProposalExistsError extends Error {
  constructor(
    readonly proposalId: string,
    options?: { cause?: unknown },
  ) {
    super(`proposal ${proposalId} already exists`, options);
    this.name = "ProposalExistsError";
  }
}

export class ProposalNotFoundError extends Error {
  constructor(
    readonly proposalId: string,
    options?: { cause?: unknown },
  ) {
    super(`proposal ${proposalId} does not exist`, options);
    this.name = "ProposalNotFoundError";
  }
}

/** A stored proposal failed validation when read back; `field` names the path at fault. */
export class CorruptProposalError extends Error {
  constructor(
    message: string,
    readonly field: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CorruptProposalError";
  }
}
