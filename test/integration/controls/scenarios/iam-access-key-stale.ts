import { randomUUID } from "node:crypto";
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
  type AccessKey,
  type IAMClient,
} from "@aws-sdk/client-iam";
import type { ResourceRef } from "@hipaa-remediate/core";
import { expect } from "vitest";
import { accessKeyRef } from "../../../../remediations/lib/arn";
import { cloudTrailRecord } from "../../../support/cloudtrail";
import type { ControlScenario } from "../../../support/control-scenario";
import { MOTO_ACCOUNT, type Moto } from "../../../support/moto";

/** `user/AKIA...` back into its parts. */
export function keyParts(resource: ResourceRef): { userName: string; accessKeyId: string } {
  const [userName, accessKeyId] = resource.id.split("/");
  if (!userName || !accessKeyId) throw new Error(`not an access key ref: ${resource.id}`);
  return { userName, accessKeyId };
}

/** Key id -> status for every key of the user. */
export async function keyStatuses(iam: IAMClient, userName: string): Promise<Record<string, string>> {
  const listed = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return Object.fromEntries((listed.AccessKeyMetadata ?? []).map((key) => [key.AccessKeyId ?? "?", key.Status ?? "?"]));
}

export async function createKey(iam: IAMClient, userName: string): Promise<AccessKey> {
  const created = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  if (!created.AccessKey) throw new Error(`CreateAccessKey returned no key for ${userName}`);
  return created.AccessKey;
}

/** The CloudTrail record of CreateAccessKey, in the shape AWS documents; the secret is never recorded. */
export function createAccessKeyRecord(key: AccessKey): Record<string, unknown> {
  return cloudTrailRecord({
    eventSource: "iam.amazonaws.com",
    eventName: "CreateAccessKey",
    requestParameters: { userName: key.UserName },
    responseElements: {
      accessKey: {
        accessKeyId: key.AccessKeyId,
        status: key.Status,
        userName: key.UserName,
        createDate: key.CreateDate?.toISOString() ?? null,
      },
    },
  });
}

/** The scenario's user has exactly two keys: the stale one (the resource) and the one CreateAccessKey just made. */
async function expectKeys(moto: Moto, resource: ResourceRef, staleStatus: "Active" | "Inactive"): Promise<void> {
  const { userName, accessKeyId } = keyParts(resource);
  const statuses = await keyStatuses(await moto.clients.iam(), userName);
  expect(Object.keys(statuses)).toHaveLength(2);
  const { [accessKeyId]: stale, ...others } = statuses;
  expect(stale).toBe(staleStatus);
  expect(Object.values(others)).toEqual(["Active"]);
}

/**
 * A user with a key older than the deactivation age (moto cannot back-date keys, so the clock moves 200 days
 * forward) who has just created a second key: the CreateAccessKey record is the one the engine receives.
 */
export const scenario: ControlScenario = {
  control: "iam-access-key-stale",
  options: {},
  clockOffsetDays: 200,
  // moto cannot back-date a key, so the clock moves 200 days ahead: in a sweep every key of the user is then stale,
  // the fresh one too. The scheduled sweep is tested on its own in test/e2e/engine-pipeline.test.ts.
  notFoundBySweep: "with the clock 200 days ahead (moto cannot back-date keys) a sweep finds every key of the user stale",

  async arrangeViolation(moto) {
    const iam = await moto.clients.iam();
    const userName = `svc-claims-${randomUUID().slice(0, 8)}`;
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const stale = await createKey(iam, userName);
    const fresh = await createKey(iam, userName);
    if (!stale.AccessKeyId || !fresh.AccessKeyId) throw new Error("CreateAccessKey returned no key id");
    return { record: createAccessKeyRecord(fresh), resource: accessKeyRef(userName, stale.AccessKeyId, MOTO_ACCOUNT) };
  },

  assertFixed: (moto, resource) => expectKeys(moto, resource, "Inactive"),
  assertUnchanged: (moto, resource) => expectKeys(moto, resource, "Active"),

  async makeCompliant(moto, resource) {
    const { userName, accessKeyId } = keyParts(resource);
    await (await moto.clients.iam()).send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: "Inactive" }));
  },
};
