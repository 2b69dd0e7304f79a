import type { ExemptionRef } from "../policy/decision";
import type { SqliteDatabase } from "../support/sqlite";
import { CorruptExemptionError, exemptionId, parseStoredExemption, validateExemption, type ExemptionStore } from "./exemption-store";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS exemptions (
    id TEXT PRIMARY KEY,
    expires TEXT NOT NULL,
    exemption TEXT NOT NULL
  );
`;

/** Local exemption store, sharing the engine's SQLite file (see openDatabase). */
export class SqliteExemptionStore implements ExemptionStore {
  private readonly insert;
  private readonly selectAll;
  private readonly selectOne;

  constructor(db: SqliteDatabase) {
    db.exec(SCHEMA);
    this.insert = db.prepare<[string, string, string]>("INSERT OR IGNORE INTO exemptions (id, expires, exemption) VALUES (?, ?, ?)");
    this.selectAll = db.prepare<[], { id: string; exemption: string }>("SELECT id, exemption FROM exemptions ORDER BY expires, id");
    this.selectOne = db.prepare<[string], { exemption: string }>("SELECT exemption FROM exemptions WHERE id = ?");
  }

  async add(exemption: ExemptionRef): Promise<void> {
    const valid = validateExemption(exemption);
    this.insert.run(exemptionId(valid), valid.expires, JSON.stringify(valid));
  }

  async grantOnce(key: string, exemption: ExemptionRef): Promise<ExemptionRef> {
    const valid = validateExemption(exemption);
    this.insert.run(key, valid.expires, JSON.stringify(valid));
    const row = this.selectOne.get(key);
    if (!row) throw new CorruptExemptionError(`sqlite exemption ${key} was not stored`);
    return parseStoredExemption(JSON.parse(row.exemption), `sqlite exemption ${key}`);
  }

  async list(): Promise<ExemptionRef[]> {
    return this.selectAll.all().map((row) => parseStoredExemption(JSON.parse(row.exemption), `sqlite exemption ${row.id}`));
  }
}
