import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
} from "@aws-lambda-powertools/idempotency";
import { BasePersistenceLayer, IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import type { SqliteDatabase } from "../support/sqlite";

type StoredResponse = ConstructorParameters<typeof IdempotencyRecord>[0]["responseData"];

interface Row {
  id: string;
  status: string;
  expiry: number | null;
  in_progress_expiry: number | null;
  data: string | null;
  validation: string | null;
}

type Status = (typeof IdempotencyRecordStatus)[keyof typeof IdempotencyRecordStatus];

function isStatus(value: string): value is Status {
  return (Object.values(IdempotencyRecordStatus) as string[]).includes(value);
}

/**
 * Powertools idempotency persistence on the local SQLite database, with the same conditional-put rules as its
 * DynamoDB layer: a key may be written when it is new, expired, or stuck in progress past its deadline.
 */
export class SqliteIdempotencyStore extends BasePersistenceLayer {
  readonly #select;
  readonly #insert;
  readonly #update;
  readonly #delete;
  readonly #put;

  constructor(db: SqliteDatabase) {
    super();
    db.exec(`CREATE TABLE IF NOT EXISTS idempotency (
      id TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      expiry INTEGER,
      in_progress_expiry INTEGER,
      data TEXT,
      validation TEXT
    )`);
    this.#select = db.prepare<[string], Row>("SELECT * FROM idempotency WHERE id = ?");
    this.#insert = db.prepare(
      `INSERT OR REPLACE INTO idempotency (id, status, expiry, in_progress_expiry, data, validation)
       VALUES (?, ?, ?, ?, NULL, ?)`,
    );
    this.#update = db.prepare("UPDATE idempotency SET status = ?, expiry = ?, data = ?, validation = ? WHERE id = ?");
    this.#delete = db.prepare("DELETE FROM idempotency WHERE id = ?");
    this.#put = db.transaction((record: IdempotencyRecord, now: number) => {
      const existing = this.#select.get(record.idempotencyKey);
      if (existing) {
        const expired = existing.expiry !== null && existing.expiry < now / 1000;
        const stuck =
          existing.status === IdempotencyRecordStatus.INPROGRESS &&
          existing.in_progress_expiry !== null &&
          existing.in_progress_expiry < now;
        if (!expired && !stuck) {
          throw new IdempotencyItemAlreadyExistsError(
            `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
            this.#toRecord(existing),
          );
        }
      }
      this.#insert.run(
        record.idempotencyKey,
        record.getStatus(),
        record.expiryTimestamp ?? null,
        record.inProgressExpiryTimestamp ?? null,
        record.payloadHash ?? null,
      );
    });
  }

  #toRecord(row: Row): IdempotencyRecord {
    if (!isStatus(row.status)) throw new Error(`idempotency record ${row.id} has unknown status ${row.status}`);
    return new IdempotencyRecord({
      idempotencyKey: row.id,
      status: row.status,
      expiryTimestamp: row.expiry ?? undefined,
      inProgressExpiryTimestamp: row.in_progress_expiry ?? undefined,
      // The record holds what this store wrote: the handler result, JSON by construction.
      responseData: row.data === null ? undefined : (JSON.parse(row.data) as StoredResponse),
      payloadHash: row.validation ?? undefined,
    });
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const row = this.#select.get(idempotencyKey);
    if (!row) throw new IdempotencyItemNotFoundError(`no idempotency record for ${idempotencyKey}`);
    return this.#toRecord(row);
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    this.#put.immediate(record, Date.now());
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    const data = record.responseData === undefined ? null : JSON.stringify(record.responseData);
    this.#update.run(record.getStatus(), record.expiryTimestamp ?? null, data, record.payloadHash ?? null, record.idempotencyKey);
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.#delete.run(record.idempotencyKey);
  }
}
