import { Agent } from "node:http";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDbProposalStore, SqliteProposalStore, openDatabase } from "@hipaa-remediate/core";
import { useMoto } from "../../support/moto";
import { createProposalsTable, tempDatabase } from "./fixtures";
import { describeProposalStoreContract } from "./proposal-store-contract";

const moto = useMoto();

describeProposalStoreContract("SqliteProposalStore", async () => {
  const temp = tempDatabase();
  const path = temp.db.name;
  const connections = [temp.db];
  return {
    store: new SqliteProposalStore(temp.db),
    connect: () => {
      // A separate connection to the same file, as the CLI and the local page would open.
      const db = openDatabase(path);
      connections.push(db);
      return new SqliteProposalStore(db);
    },
    cleanup: async () => {
      for (const db of connections.slice(1)) db.close();
      temp.cleanup();
    },
  };
});

/**
 * moto evaluates a condition and applies the write without a lock across its request threads, so two truly
 * simultaneous conditional updates can both pass (seen about once in five runs). DynamoDB applies them atomically
 * per item. One shared connection makes moto see the concurrent calls one at a time, as DynamoDB would order
 * them; the calls are still issued at once and each is judged by its ConditionExpression alone.
 */
const oneConnectionToMoto = new Agent({ keepAlive: true, maxSockets: 1 });
const motoClient = () => new DynamoDBClient({ ...moto.config, requestHandler: { httpAgent: oneConnectionToMoto } });

let tableCounter = 0;
describeProposalStoreContract("DynamoDbProposalStore", async () => {
  const client = motoClient();
  const tableName = `proposals-${++tableCounter}`;
  await createProposalsTable(client, tableName);
  const clients = [client];
  return {
    store: new DynamoDbProposalStore(client, tableName),
    connect: () => {
      const other = motoClient();
      clients.push(other);
      return new DynamoDbProposalStore(other, tableName);
    },
    cleanup: async () => {
      for (const c of clients) c.destroy();
    },
  };
});
