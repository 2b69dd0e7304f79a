import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { createAwsClients, type Logger } from "@hipaa-remediate/core";

/** Shared by every handler: configuration from the environment, secrets, logging and one-time setup. */

export class MissingConfigurationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MissingConfigurationError";
  }
}

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new MissingConfigurationError(`environment variable ${name} is not set`);
  return value;
}

export type SlackSecretName = "SLACK_SIGNING_SECRET" | "SLACK_BOT_TOKEN";

/**
 * A Slack secret: from the environment when set there, otherwise from the SST Config.Secret bound to the
 * function (loaded on demand, because sst/node/config reads SSM when it is imported). Undefined when neither.
 */
export async function readOptionalSlackSecret(name: SlackSecretName): Promise<string | undefined> {
  const fromEnv = process.env[name];
  if (fromEnv) return fromEnv;
  if (process.env[`SST_Secret_value_${name}`] !== undefined) {
    const { Config } = await import("sst/node/config");
    const value: unknown = Reflect.get(Config, name);
    if (typeof value === "string" && value) return value;
  }
  return undefined;
}

export async function readSlackSecret(name: SlackSecretName): Promise<string> {
  const value = await readOptionalSlackSecret(name);
  if (value === undefined) {
    throw new MissingConfigurationError(`Slack secret ${name} is neither in the environment nor bound as an SST secret`);
  }
  return value;
}

/** The core Logger port over Powertools' structured JSON logger. */
export function powertoolsLogger(serviceName: string): Logger {
  const logger = new PowertoolsLogger({ serviceName });
  return {
    debug: (message, fields) => (fields ? logger.debug(message, fields) : logger.debug(message)),
    info: (message, fields) => (fields ? logger.info(message, fields) : logger.info(message)),
    warn: (message, fields) => (fields ? logger.warn(message, fields) : logger.warn(message)),
    error: (message, fields) => (fields ? logger.error(message, fields) : logger.error(message)),
  };
}

/** Builds deployed dependencies once per Lambda container; a failed build is retried on the next call. */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
}

/** S3 for the audit bucket, through the engine's client factory (the same pinned SDK settings), in this region. */
export function auditBucketClient() {
  return createAwsClients({ userAgent: "hipaa-remediate-audit-archive" }).s3(requiredEnv("AWS_REGION"));
}
