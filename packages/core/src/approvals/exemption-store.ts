import { z } from "zod";
import type { ExemptionRef } from "../policy/decision";
import { firstIssue } from "../proposals/schema";
import { hashCanonical } from "../support/json";

/**
 * Exemptions granted from an approval (Slack or the local page). The policy consults `list()` together with the
 * exemptions written in the policy file and in tags, and ignores the expired ones.
 */
export interface ExemptionStore {
  /** Idempotent: adding the same exemption twice stores it once. */
  add(exemption: ExemptionRef): Promise<void>;
  /**
   * Stores `exemption` under `key` unless something is stored there already, and returns what is stored. One key per
   * decision (see approvalExemptionKey) makes a retried grant a no-op even though its expiry, counted from the
   * retry's clock, differs from the first attempt's.
   */
  grantOnce(key: string, exemption: ExemptionRef): Promise<ExemptionRef>;
  list(): Promise<ExemptionRef[]>;
}

/** The one exemption a proposal's "Exempt" decision may store. */
export function approvalExemptionKey(proposalId: string): string {
  return `approval#${proposalId}`;
}

/**
 * Keeps `list()` for a short while. The engine consults exemptions for every finding, and the deployed store is a
 * DynamoDB Scan; an exemption granted elsewhere (the approval worker) applies within `ttlMs`, and one added through
 * this store applies at once.
 */
export class CachedExemptionStore implements ExemptionStore {
  #cached: { at: number; exemptions: ExemptionRef[] } | undefined;

  constructor(
    private readonly inner: ExemptionStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async add(exemption: ExemptionRef): Promise<void> {
    await this.inner.add(exemption);
    this.#cached = undefined;
  }

  async grantOnce(key: string, exemption: ExemptionRef): Promise<ExemptionRef> {
    const stored = await this.inner.grantOnce(key, exemption);
    this.#cached = undefined;
    return stored;
  }

  async list(): Promise<ExemptionRef[]> {
    const now = this.now();
    if (!this.#cached || now - this.#cached.at >= this.ttlMs) this.#cached = { at: now, exemptions: await this.inner.list() };
    return this.#cached.exemptions;
  }
}

export const exemptionRefSchema = z.object({
  source: z.enum(["policy", "tag", "approval"]),
  resource: z.string().min(1),
  controls: z.array(z.string().min(1)).min(1),
  reason: z.string().min(1),
  owner: z.string().min(1),
  expires: z.iso.datetime({ offset: true }),
}) satisfies z.ZodType<ExemptionRef>;

/** Key schema of the deployed exemptions table; the infrastructure stack builds the table from it. */
export const EXEMPTIONS_TABLE_KEYS = { partitionKey: { name: "id", type: "S" } } as const;

/** Content-derived id, so a redelivered approval that records the same exemption again is a no-op. */
export function exemptionId(exemption: ExemptionRef): string {
  return hashCanonical(exemption);
}

export class CorruptExemptionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CorruptExemptionError";
  }
}

export class InvalidExemptionError extends Error {
  constructor(
    message: string,
    readonly field: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "InvalidExemptionError";
  }
}

/** Checks an exemption before it is stored; the error names the field at fault. */
export function validateExemption(exemption: ExemptionRef): ExemptionRef {
  const result = exemptionRefSchema.safeParse(exemption);
  if (result.success) return result.data;
  const { field, message } = firstIssue(result.error, "exemption");
  throw new InvalidExemptionError(`${field}: ${message}`, field, { cause: result.error });
}

export function parseStoredExemption(value: unknown, where: string): ExemptionRef {
  const result = exemptionRefSchema.safeParse(value);
  if (result.success) return result.data;
  const { field, message } = firstIssue(result.error);
  throw new CorruptExemptionError(`${where}: stored exemption is invalid at ${field}: ${message}`, { cause: result.error });
}
