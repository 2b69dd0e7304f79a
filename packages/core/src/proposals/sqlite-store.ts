import Database from "better-sqlite3";
import type { SqliteDatabase } from "../support/sqlite";
import { ProposalExistsError, ProposalNotFoundError } from "./errors";
import type { Proposal, ProposalStatus, ProposalStore, ProposalTransitionChanges } from "./proposal";
import { parseStoredProposal } from "./schema";

/**
 * `body` keeps the parts of a proposal that never change (finding, plan, hash, times); the mutable parts have
 * their own columns so a transition is one conditional UPDATE and never rewrites the plan.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS proposals (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL,
    slack TEXT,
    decided_by TEXT,
    decided_at TEXT,
    reminder_sent_at TEXT,
    lease_holder TEXT,
    lease_expires_at TEXT
  );
  CREATE INDEX IF NOT EXISTS proposals_by_status ON proposals (status, created_at);
`;

/** Columns added after the first release; a store opened on an older file adds them (NULL for old rows). */
const ADDED_COLUMNS = ["lease_holder", "lease_expires_at"] as const;

interface ProposalRow {
  id: string;
  status: string;
  body: string;
  slack: string | null;
  decided_by: string | null;
  decided_at: string | null;
  reminder_sent_at: string | null;
  lease_holder: string | null;
  lease_expires_at: string | null;
}

/** Named parameters for the mutable columns; null means "leave the column as it is". */
interface MutableColumns {
  slack: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  reminderSentAt: string | null;
  leaseHolder: string | null;
  leaseExpiresAt: string | null;
}

const KEEP_UNLESS_GIVEN = `
  slack = COALESCE(@slack, slack),
  decided_by = COALESCE(@decidedBy, decided_by),
  decided_at = COALESCE(@decidedAt, decided_at),
  reminder_sent_at = COALESCE(@reminderSentAt, reminder_sent_at),
  lease_holder = COALESCE(@leaseHolder, lease_holder),
  lease_expires_at = COALESCE(@leaseExpiresAt, lease_expires_at)`;

/** Local proposal store, sharing the engine's SQLite file (see openDatabase). */
export class SqliteProposalStore implements ProposalStore {
  private readonly insertRow;
  private readonly selectRow;
  private readonly selectByStatus;
  private readonly transitionRow;
  private readonly transitionLeasedRow;
  private readonly updateRow;

  constructor(db: SqliteDatabase) {
    db.exec(SCHEMA);
    addMissingColumns(db);
    this.insertRow = db.prepare<[{ id: string; status: string; createdAt: string; body: string } & MutableColumns]>(
      `INSERT INTO proposals
         (id, status, created_at, body, slack, decided_by, decided_at, reminder_sent_at, lease_holder, lease_expires_at)
       VALUES
         (@id, @status, @createdAt, @body, @slack, @decidedBy, @decidedAt, @reminderSentAt, @leaseHolder, @leaseExpiresAt)`,
    );
    this.selectRow = db.prepare<[string], ProposalRow>("SELECT * FROM proposals WHERE id = ?");
    this.selectByStatus = db.prepare<[string], ProposalRow>("SELECT * FROM proposals WHERE status = ? ORDER BY created_at, id");
    // The WHERE on status is the exactly-once gate: of two deciders, only one UPDATE matches the row.
    this.transitionRow = db.prepare<[{ id: string; from: string; to: string } & MutableColumns]>(
      `UPDATE proposals SET status = @to, ${KEEP_UNLESS_GIVEN} WHERE id = @id AND status = @from`,
    );
    // Only the current lease holder may move an applying proposal on; a takeover changes the holder.
    this.transitionLeasedRow = db.prepare<[{ id: string; holder: string; to: string } & MutableColumns]>(
      `UPDATE proposals SET status = @to, ${KEEP_UNLESS_GIVEN}
       WHERE id = @id AND status = 'applying' AND lease_holder = @holder`,
    );
    this.updateRow = db.prepare<[{ id: string } & MutableColumns]>(`UPDATE proposals SET ${KEEP_UNLESS_GIVEN} WHERE id = @id`);
  }

  async create(proposal: Proposal): Promise<void> {
    const { slack, decidedBy, decidedAt, reminderSentAt, leaseHolder, leaseExpiresAt, status, ...fixed } = proposal;
    try {
      this.insertRow.run({
        id: proposal.id,
        status,
        createdAt: proposal.createdAt,
        body: JSON.stringify(fixed),
        ...mutableColumns({ slack, decidedBy, decidedAt, reminderSentAt, leaseHolder, leaseExpiresAt }),
      });
    } catch (error) {
      if (error instanceof Database.SqliteError && error.code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
        throw new ProposalExistsError(proposal.id, { cause: error });
      }
      throw error;
    }
  }

  async get(id: string): Promise<Proposal | undefined> {
    const row = this.selectRow.get(id);
    return row ? fromRow(row) : undefined;
  }

  async listByStatus(status: ProposalStatus): Promise<Proposal[]> {
    return this.selectByStatus.all(status).map(fromRow);
  }

  async transition(id: string, from: ProposalStatus, to: ProposalStatus, changes: ProposalTransitionChanges = {}): Promise<boolean> {
    return this.transitionRow.run({ id, from, to, ...mutableColumns(changes) }).changes === 1;
  }

  async transitionLeased(id: string, holder: string, to: ProposalStatus, changes: ProposalTransitionChanges = {}): Promise<boolean> {
    return this.transitionLeasedRow.run({ id, holder, to, ...mutableColumns(changes) }).changes === 1;
  }

  async update(id: string, changes: Partial<Pick<Proposal, "slack" | "reminderSentAt">>): Promise<void> {
    if (this.updateRow.run({ id, ...mutableColumns(changes) }).changes !== 1) throw new ProposalNotFoundError(id);
  }
}

function mutableColumns(changes: ProposalTransitionChanges): MutableColumns {
  return {
    slack: changes.slack ? JSON.stringify(changes.slack) : null,
    decidedBy: changes.decidedBy ? JSON.stringify(changes.decidedBy) : null,
    decidedAt: changes.decidedAt ?? null,
    reminderSentAt: changes.reminderSentAt ?? null,
    leaseHolder: changes.leaseHolder ?? null,
    leaseExpiresAt: changes.leaseExpiresAt ?? null,
  };
}

function addMissingColumns(db: SqliteDatabase): void {
  const present = new Set(
    db
      .prepare<[], { name: string }>("SELECT name FROM pragma_table_info('proposals')")
      .all()
      .map((c) => c.name),
  );
  for (const column of ADDED_COLUMNS) {
    if (!present.has(column)) db.exec(`ALTER TABLE proposals ADD COLUMN ${column} TEXT`);
  }
}

function fromRow(row: ProposalRow): Proposal {
  const where = `sqlite proposal ${row.id}`;
  const fixed: unknown = JSON.parse(row.body);
  return parseStoredProposal(
    {
      ...(typeof fixed === "object" && fixed !== null ? fixed : {}),
      status: row.status,
      // Parsed as unknown: parseStoredProposal validates every field.
      ...(row.slack ? { slack: JSON.parse(row.slack) as unknown } : {}),
      ...(row.decided_by ? { decidedBy: JSON.parse(row.decided_by) as unknown } : {}),
      ...(row.decided_at ? { decidedAt: row.decided_at } : {}),
      ...(row.reminder_sent_at ? { reminderSentAt: row.reminder_sent_at } : {}),
      ...(row.lease_holder ? { leaseHolder: row.lease_holder } : {}),
      ...(row.lease_expires_at ? { leaseExpiresAt: row.lease_expires_at } : {}),
    },
    where,
  );
}
