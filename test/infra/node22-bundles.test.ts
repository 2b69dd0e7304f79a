import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDbLogStore, slackContextFor, verifyChain, type LogEntry } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { beforeAll, describe, expect, it } from "vitest";
import { scenario } from "../integration/controls/scenarios/s3-bucket-default-encryption";
import { eventBridgeEnvelope } from "../support/cloudtrail";
import { createDeployedTables, type DeployedTableNames } from "../support/deployed-tables";
import { bundleFunction, functionHandlerNames, type FunctionBundle } from "../support/function-bundles";
import { deployedEngineEnvironment } from "../support/deployed-engine";
import { useMoto } from "../support/moto";
import { node22Binary } from "../support/node22";
import { lambdaSqsRecord } from "../support/sqs-lambda";

const run = promisify(execFile);
const moto = useMoto();

/** Imports a bundle on Node 22, calls its handler with the event in a file, and prints the result as JSON. */
const INVOKE = `
import { readFileSync } from "node:fs";
const [bundle, eventFile] = process.argv.slice(1);
const module = await import(bundle);
if (typeof module.handler !== "function") throw new Error(bundle + " exports no handler");
if (eventFile === undefined) process.exit(0);
// The context object Lambda passes; the idempotency layer reads the remaining time from it.
const deadline = Date.now() + 60_000;
const context = {
  functionName: "node22-test",
  functionVersion: "$LATEST",
  awsRequestId: "00000000-0000-4000-8000-000000000022",
  memoryLimitInMB: "512",
  getRemainingTimeInMillis: () => deadline - Date.now(),
};
const result = await module.handler(JSON.parse(readFileSync(eventFile, "utf8")), context);
process.stdout.write(JSON.stringify(result ?? null));
`;

/**
 * The functions deploy on nodejs22.x while the toolchain runs on the machine's Node 20. These tests bundle every
 * handler exactly as `sst deploy` does and run the bundles on a real Node.js 22 binary: each loads, and the engine
 * and the Slack endpoint handle a request against the emulator.
 */
describe("function bundles on Node.js 22", () => {
  let node22: string;
  let dir: string;
  const bundles = new Map<string, FunctionBundle>();

  beforeAll(async () => {
    node22 = node22Binary();
    dir = mkdtempSync(join(tmpdir(), "hipaa-bundles-"));
    for (const name of functionHandlerNames()) bundles.set(name, await bundleFunction(name, dir));
  }, 900_000);

  function bundle(name: string): string {
    const found = bundles.get(name);
    if (!found) throw new Error(`no bundle for ${name}; handlers: ${[...bundles.keys()].join(", ")}`);
    return found.file;
  }

  /** The handler's result, and the function's own output (its log lines) to explain a failed expectation. */
  async function invoke(name: string, event: unknown, env: Record<string, string>): Promise<{ result: unknown; output: string }> {
    const eventFile = join(dir, `${name}-event.json`);
    writeFileSync(eventFile, JSON.stringify(event));
    const { stdout, stderr } = await run(node22, ["--input-type=module", "-e", INVOKE, bundle(name), eventFile], {
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    // Powertools writes its JSON log lines to stdout too; the result is the last line.
    const lines = stdout.trim().split("\n");
    return { result: JSON.parse(lines.at(-1) ?? "null"), output: [...lines.slice(0, -1), stderr].join("\n") };
  }

  it("runs on Node.js 22", async () => {
    const { stdout } = await run(node22, ["--version"]);
    expect(stdout.trim()).toMatch(/^v22\./);
  });

  it("every handler's bundle loads and exports a handler", async () => {
    expect([...bundles.keys()]).toEqual(expect.arrayContaining(["engine", "approval-worker", "slack-interactivity", "sweep"]));
    for (const name of bundles.keys()) {
      await expect(
        run(node22, ["--input-type=module", "-e", INVOKE, bundle(name)], { env: { PATH: process.env.PATH ?? "" } }),
      ).resolves.toBeDefined();
    }
  });

  it("the Slack endpoint bundles no control and no EC2, S3 or IAM client", () => {
    const [output] = Object.values(bundles.get("slack-interactivity")?.metafile.outputs ?? {});
    // The output's inputs with bytes in it: the metafile's top-level inputs also list what tree-shaking dropped.
    const inputs = Object.entries(output?.inputs ?? {})
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path);
    expect(inputs.length).toBeGreaterThan(0);
    expect(inputs.filter((input) => /client-(ec2|s3|iam)\//.test(input) || input.startsWith("remediations/"))).toEqual([]);
  });

  describe("against the emulator", () => {
    let tables: DeployedTableNames;
    let env: Record<string, string>;

    beforeAll(async () => {
      tables = await createDeployedTables(new DynamoDBClient(moto.config), `node22-${Date.now()}`);
      const policyFile = join(dir, "policy.yaml");
      writeFileSync(policyFile, "controls:\n  s3-bucket-default-encryption:\n    mode: auto\n");
      // Warnings too: a failed expectation shows the function's own explanation.
      env = { ...deployedEngineEnvironment(moto.endpoint, tables, policyFile), POWERTOOLS_LOG_LEVEL: "WARN" };
    });

    async function logEntries(): Promise<LogEntry[]> {
      const log = new DynamoDbLogStore({ client: new DynamoDBClient(moto.config), tableName: tables.log });
      const entries: LogEntry[] = [];
      for await (const entry of log.read()) entries.push(entry);
      return entries;
    }

    it("the engine bundle fixes a violation from a real SQS batch", async () => {
      const { record, resource } = await scenario.arrangeViolation(moto);
      const sqs = new SQSClient(moto.config);
      const { QueueUrl = "" } = await sqs.send(new CreateQueueCommand({ QueueName: `node22-engine-${Date.now()}` }));
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(eventBridgeEnvelope(record)) }));
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageSystemAttributeNames: ["All"] }));
      expect(Messages).toHaveLength(1);

      const { result, output } = await invoke(
        "engine",
        { Records: Messages.map((m) => lambdaSqsRecord(m, Attributes?.QueueArn ?? "")) },
        env,
      );
      expect(result, output).toEqual({ batchItemFailures: [] });
      await scenario.assertFixed(moto, resource);
      const entries = await logEntries();
      expect(entries.filter((e) => e.eventId === record.eventID).map((e) => e.stage)).toEqual([
        "received",
        "finding",
        "decision",
        "applying",
        "applied",
        "verified",
      ]);
      expect(await verifyChain(entries)).toMatchObject({ ok: true });
    });

    it("the Slack endpoint bundle refuses a forged request and answers a signed one", async () => {
      const contextFile = join(dir, "slack-context.json");
      writeFileSync(contextFile, JSON.stringify(slackContextFor({ users: ["U0APPROVER1"], userGroups: [] }, controls)));
      const signingSecret = "node22-signing-secret";
      const slackEnv = {
        ...env,
        SLACK_CONTEXT_FILE: contextFile,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_BOT_TOKEN: "xoxb-node22",
        APPROVALS_QUEUE_URL: `${moto.endpoint}/123456789012/node22-approvals`,
      };
      const body = "payload=" + encodeURIComponent(JSON.stringify({ type: "block_actions", actions: [] }));
      const timestamp = String(Math.floor(Date.now() / 1000));
      const request = (signature: string) => ({
        body,
        isBase64Encoded: false,
        headers: {
          "x-slack-request-timestamp": timestamp,
          "x-slack-signature": signature,
          "content-type": "application/x-www-form-urlencoded",
        },
      });

      const forged = await invoke("slack-interactivity", request("v0=" + "0".repeat(64)), slackEnv);
      expect(forged.result, forged.output).toMatchObject({ statusCode: 401 });

      const signature = "v0=" + createHmac("sha256", signingSecret).update(`v0:${timestamp}:${body}`).digest("hex");
      const signed = await invoke("slack-interactivity", request(signature), slackEnv);
      // Signed, but not an action the endpoint knows: refused as a bad request, not as a forgery.
      expect(signed.result, signed.output).toMatchObject({ statusCode: 400 });
    });
  });
});
