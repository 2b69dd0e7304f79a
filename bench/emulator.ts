import { createAwsClients } from "@hipaa-remediate/core";
import { MOTO_CREDENTIALS, MOTO_REGION, resetMoto, type Moto } from "../test/support/moto";

/**
 * The handle the test support code takes, for an emulator the bench started itself. Unlike the tests' handle,
 * its clients retry: a busy moment of the one-process emulator should cost a retry, not a bench run.
 */
export function benchMoto(endpoint: string): Moto {
  const config = { endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, maxAttempts: 3 };
  return {
    endpoint,
    clients: createAwsClients({ endpoint, credentials: MOTO_CREDENTIALS, maxAttempts: 3, userAgent: "hipaa-remediate-bench" }),
    config,
    reset: () => resetMoto(endpoint),
  };
}
