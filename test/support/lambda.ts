import { randomUUID } from "node:crypto";
import { crc32 } from "node:zlib";
import { CreateRoleCommand, GetRoleCommand } from "@aws-sdk/client-iam";
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { MOTO_REGION, type Moto } from "./moto";

/**
 * A zip archive holding `files`, stored without compression: the smallest valid deployment package. Lambda (and
 * moto) need a zip to create a function; invoking it is never needed here, so no Docker either.
 */
export function storedZip(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text, "utf8");
    const fileName = Buffer.from(name, "utf8");
    const checksum = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, data);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const clients = new Map<string, LambdaClient>();

/**
 * A Lambda client for test setup and assertions, built from the test's own SDK (as moto.ts advises for services it
 * sets up): the engine's clients come from the core package's SDK copy, whose command types differ.
 */
export function lambdaClient(moto: Moto, region = MOTO_REGION): LambdaClient {
  const key = `${moto.endpoint}|${region}`;
  const existing = clients.get(key);
  if (existing) return existing;
  const client = new LambdaClient({ ...moto.config, region });
  clients.set(key, client);
  return client;
}

const FUNCTION_ROLE = "lambda-test-function-role";

/** The execution role test functions use (moto checks that it exists). */
async function functionRoleArn(moto: Moto): Promise<string> {
  const iam = await moto.clients.iam();
  try {
    const existing = await iam.send(new GetRoleCommand({ RoleName: FUNCTION_ROLE }));
    if (existing.Role?.Arn) return existing.Role.Arn;
  } catch (error) {
    if (!(error instanceof Error && error.name === "NoSuchEntityException")) throw error;
  }
  const trust = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
  };
  const created = await iam.send(new CreateRoleCommand({ RoleName: FUNCTION_ROLE, AssumeRolePolicyDocument: JSON.stringify(trust) }));
  if (!created.Role?.Arn) throw new Error("moto returned no role ARN");
  return created.Role.Arn;
}

/** Creates a uniquely named Node.js function and returns its name. */
export async function createTestFunction(
  moto: Moto,
  prefix = "fn",
  tags: Record<string, string> = {},
  region = MOTO_REGION,
): Promise<string> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await lambdaClient(moto, region).send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: "nodejs20.x",
      Role: await functionRoleArn(moto),
      Handler: "index.handler",
      Code: { ZipFile: storedZip({ "index.mjs": "export const handler = async () => ({ statusCode: 200 });\n" }) },
      Tags: tags,
    }),
  );
  return name;
}
