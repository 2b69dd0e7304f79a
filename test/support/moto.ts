import { beforeAll, inject } from "vitest";
import { createAwsClients, type AwsClients } from "@hipaa-remediate/core";

export const MOTO_ACCOUNT = "123456789012";
export const MOTO_REGION = "us-east-1";
export const MOTO_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" };

export interface Moto {
  endpoint: string;
  /** Engine-style clients, exactly as the engine builds them, pointed at this worker's moto. */
  clients: AwsClients;
  /** Plain SDK client config for test setup code that builds its own clients (e.g. SQS, EventBridge). */
  config: {
    endpoint: string;
    region: string;
    credentials: typeof MOTO_CREDENTIALS;
    maxAttempts: number;
  };
  reset(): Promise<void>;
}

function workerEndpoint(): string {
  const endpoints = inject("motoEndpoints");
  const slot = Number(process.env.VITEST_POOL_ID ?? "1") - 1;
  const endpoint = endpoints[slot % endpoints.length];
  if (!endpoint) throw new Error("no moto endpoint provided: is test/support/global-setup.ts registered?");
  return endpoint;
}

export async function resetMoto(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
  if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
}

/**
 * The emulator for this test file. Resets it before the file's tests run, so files never see each other's
 * resources. Call once at the top level of a test file.
 */
export function useMoto(): Moto {
  const endpoint = workerEndpoint();
  const moto: Moto = {
    endpoint,
    clients: createAwsClients({
      endpoint,
      credentials: MOTO_CREDENTIALS,
      maxAttempts: 1,
      userAgent: "hipaa-remediate-test",
    }),
    config: { endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, maxAttempts: 1 },
    reset: () => resetMoto(endpoint),
  };
  beforeAll(() => moto.reset());
  return moto;
}
