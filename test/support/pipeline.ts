import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import {
  eventPatternsFor,
  openDatabase,
  powertoolsGuard,
  SqliteIdempotencyStore,
  type EngineDeps,
  type LogEntry,
  type ProposalNotifier,
  type SqliteDatabase,
} from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { createEngineHandler } from "../../packages/functions/src/engine";
import { eventBridgeEnvelope } from "./cloudtrail";
import type { Moto } from "./moto";
import { sqliteEngineDeps } from "./engine-deps";
import { pumpQueue } from "./sqs-lambda";

export interface QueueRef {
  url: string;
  arn: string;
}

export interface PipelineOptions {
  /** The policy document (as it would be written in the file). */
  policy?: Record<string, unknown>;
  clockOffsetDays?: number;
  maxReceiveCount?: number;
  /** Where proposals are posted (a SlackNotifier on the recorder); without it they are only stored. */
  notifier?: ProposalNotifier;
  /** The engine's dependencies when they are not the temporary SQLite ones (e.g. the deployed DynamoDB wiring). */
  engineDeps?: EngineDeps;
  /** The queue's visibility timeout; SQS's default (30 s) unless given. */
  visibilityTimeoutSeconds?: number;
}

/**
 * The deployed data path, for real, on moto: EventBridge rules generated from the registry, the encrypted
 * queue with its DLQ and redrive policy, and the engine Lambda handler fed the way Lambda's SQS event
 * source mapping feeds it. The engine's state lives in a temporary SQLite file.
 */
export class Pipeline {
  private constructor(
    readonly moto: Moto,
    readonly queue: QueueRef,
    readonly dlq: QueueRef,
    readonly deps: EngineDeps,
    private readonly db: SqliteDatabase,
    private readonly dir: string,
    private readonly rules: string[],
    readonly events: EventBridgeClient,
    readonly sqs: SQSClient,
  ) {}

  static async create(moto: Moto, options: PipelineOptions = {}): Promise<Pipeline> {
    const sqs = new SQSClient(moto.config);
    const events = new EventBridgeClient(moto.config);
    const suffix = randomUUID().slice(0, 8);
    const dlq = await createQueue(sqs, `engine-dlq-${suffix}`, {});
    const queue = await createQueue(sqs, `engine-${suffix}`, {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: options.maxReceiveCount ?? 3 }),
      ...(options.visibilityTimeoutSeconds ? { VisibilityTimeout: String(options.visibilityTimeoutSeconds) } : {}),
    });
    const rules: string[] = [];
    for (const generated of eventPatternsFor(controls)) {
      const name = `engine-${generated.key}-${suffix}`;
      await events.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify(generated.pattern), State: "ENABLED" }));
      await events.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: "engine-queue", Arn: queue.arn }] }));
      rules.push(name);
    }

    const dir = mkdtempSync(join(tmpdir(), "hipaa-pipeline-"));
    const db = openDatabase(join(dir, "engine.db"));
    const offsetMs = (options.clockOffsetDays ?? 0) * 86_400_000;
    const deps =
      options.engineDeps ??
      sqliteEngineDeps(db, {
        aws: moto.clients,
        // Persistent idempotency records, as the deployed engine keeps them.
        guard: powertoolsGuard(new SqliteIdempotencyStore(db)),
        now: () => new Date(Date.now() + offsetMs),
        ...(options.policy ? { policy: options.policy } : {}),
        ...(options.notifier ? { notifier: options.notifier } : {}),
      });
    return new Pipeline(moto, queue, dlq, deps, db, dir, rules, events, sqs);
  }

  /**
   * Publishes a CloudTrail record to the default bus as CloudTrail's EventBridge integration does: API calls as
   * "AWS API Call via CloudTrail", console sign-ins as "AWS Console Sign In via CloudTrail" (see `eventBridgeEnvelope`).
   */
  async publish(record: Record<string, unknown>): Promise<void> {
    await this.publishMany([record]);
  }

  /** Publishes records as `publish` does, ten to a PutEvents call (its limit); returns how many calls it made. */
  async publishMany(records: Record<string, unknown>[]): Promise<number> {
    let calls = 0;
    for (let start = 0; start < records.length; start += 10) {
      const entries = records.slice(start, start + 10).map((record) => {
        const envelope = eventBridgeEnvelope(record);
        return {
          Source: String(envelope.source),
          DetailType: String(envelope["detail-type"]),
          Detail: JSON.stringify(record),
          Resources: [],
        };
      });
      const result = await this.events.send(new PutEventsCommand({ Entries: entries }));
      calls += 1;
      if (result.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(result.Entries)}`);
    }
    return calls;
  }

  /** Runs the real engine handler on whatever is in the queue until it is empty. */
  pump(): Promise<{ invocations: number; succeeded: number; failed: number }> {
    return pumpQueue(
      this.sqs,
      this.queue,
      createEngineHandler(async () => this.deps),
    );
  }

  async log(): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for await (const entry of this.deps.log.read()) entries.push(entry);
    return entries;
  }

  async stagesFor(eventId: string): Promise<string[]> {
    return (await this.deps.log.byEvent(eventId)).map((e) => e.stage);
  }

  async dlqMessages(): Promise<Message[]> {
    const received = await this.sqs.send(new ReceiveMessageCommand({ QueueUrl: this.dlq.url, MaxNumberOfMessages: 10 }));
    return received.Messages ?? [];
  }

  async dispose(): Promise<void> {
    for (const rule of this.rules) {
      await this.events.send(new RemoveTargetsCommand({ Rule: rule, Ids: ["engine-queue"] }));
      await this.events.send(new DeleteRuleCommand({ Name: rule }));
    }
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<QueueRef> {
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { SqsManagedSseEnabled: "true", ...attributes } }));
  const url = created.QueueUrl ?? "";
  const described = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  return { url, arn: described.Attributes?.QueueArn ?? "" };
}
