import { InvalidReadOptionsError } from "./errors";
import type { ReadOptions } from "./port";

/** Validated read options: the first seq to return and how many entries at most. */
export interface ReadWindow {
  fromSeq: number;
  limit: number;
}

export function readWindow(options: ReadOptions = {}): ReadWindow {
  const fromSeq = options.fromSeq ?? 1;
  if (!Number.isInteger(fromSeq) || fromSeq < 1) {
    throw new InvalidReadOptionsError(`fromSeq must be an integer of at least 1, got ${String(options.fromSeq)}`, {
      field: "fromSeq",
    });
  }
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (limit !== Number.POSITIVE_INFINITY && (!Number.isInteger(limit) || limit < 0)) {
    throw new InvalidReadOptionsError(`limit must be a non-negative integer, got ${String(options.limit)}`, {
      field: "limit",
    });
  }
  return { fromSeq, limit };
}

/** Rows fetched per query: bounds memory while streaming a log of any length. */
export const DEFAULT_PAGE_SIZE = 250;

export function assertPageSize(pageSize: number): number {
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
  }
  return pageSize;
}
