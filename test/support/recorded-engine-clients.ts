import { createAwsClients, type AwsClients } from "@hipaa-remediate/core";
import { MOTO_CREDENTIALS, MOTO_REGION } from "./moto";

/** The engine's own AWS clients on moto, with every S3 request the engine sends recorded in order, as the SDK sends it. */
export async function engineClientsRecordingS3(endpoint: string): Promise<{ aws: AwsClients; sentToS3: string[] }> {
  const aws = createAwsClients({ endpoint, credentials: MOTO_CREDENTIALS, maxAttempts: 1, userAgent: "hipaa-remediate" });
  const sentToS3: string[] = [];
  (await aws.s3(MOTO_REGION)).middlewareStack.add(
    (next, context) => async (args) => {
      sentToS3.push(String(context.commandName));
      return next(args);
    },
    { step: "initialize", name: "recordS3Requests" },
  );
  return { aws, sentToS3 };
}
