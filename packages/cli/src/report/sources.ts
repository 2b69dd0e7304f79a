import {
  createAwsClients,
  DynamoDbExemptionStore,
  DynamoDbLogStore,
  DynamoDbProposalStore,
  engineIdentity,
  loadPolicy,
  openDatabase,
  SqliteExemptionStore,
  SqliteLogStore,
  SqliteProposalStore,
  type ReportSources,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { existsSync } from "node:fs";
import { UsageError } from "../commands/shared-options";

export const REPORT_STORES = ["sqlite", "dynamodb"] as const;
export type ReportStore = (typeof REPORT_STORES)[number];

export interface StoreFlags {
  store: ReportStore;
  db: string;
  policy?: string;
  logTable?: string;
  proposalsTable?: string;
  exemptionsTable?: string;
  endpoint?: string;
  region?: string;
}

export interface OpenedSources {
  sources: ReportSources;
  /** For the report header, e.g. `sqlite:.hipaa-remediate/engine.db`. */
  store: string;
  policySource: string;
  close(): Promise<void>;
}

/**
 * The stores a report reads, local or deployed, through the same ports the engine writes with. Only reads are made:
 * against DynamoDB that is Query on the log table, Scan on the exemptions table and Query on the proposals' status index.
 */
export async function openReportSources(flags: StoreFlags): Promise<OpenedSources> {
  const policy = await loadPolicy(flags.policy, controls);
  const policySource = flags.policy ?? "built-in default policy (dry-run everywhere)";
  if (flags.store === "sqlite") {
    // A typo in --db must not silently report on a new, empty log.
    if (flags.db !== ":memory:" && !existsSync(flags.db)) {
      throw new UsageError(`no log database at ${flags.db} (run a replay first, or pass --db, or --store dynamodb)`);
    }
    const db = openDatabase(flags.db);
    return {
      sources: {
        log: new SqliteLogStore(db),
        proposals: new SqliteProposalStore(db),
        exemptions: new SqliteExemptionStore(db),
        policy,
        controls,
      },
      store: `sqlite:${flags.db}`,
      policySource,
      async close() {
        db.close();
      },
    };
  }
  const logTable = required(flags.logTable, "--log-table", "LOG_TABLE");
  const proposalsTable = required(flags.proposalsTable, "--proposals-table", "PROPOSALS_TABLE");
  const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  const aws = createAwsClients({ userAgent: engineIdentity(policy).userAgent, ...(flags.endpoint ? { endpoint: flags.endpoint } : {}) });
  const client = await aws.dynamodb(region);
  return {
    sources: {
      log: new DynamoDbLogStore({ client, tableName: logTable }),
      proposals: new DynamoDbProposalStore(client, proposalsTable),
      ...(flags.exemptionsTable ? { exemptions: new DynamoDbExemptionStore(client, flags.exemptionsTable) } : {}),
      policy,
      controls,
    },
    store: `dynamodb:${region}/${logTable}`,
    policySource,
    async close() {
      client.destroy();
    },
  };
}

function required(value: string | undefined, flag: string, env: string): string {
  if (value) return value;
  throw new UsageError(`--store dynamodb needs the table name: pass ${flag} or set ${env} (see the deployed stack's outputs)`);
}
