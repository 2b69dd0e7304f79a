import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { LiveContext } from "@hipaa-remediate/core";

export class AccountUnknownError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AccountUnknownError";
  }
}

/**
 * The account a sweep runs in: the configured one, else whoever the injected credentials belong to.
 * GetCallerIdentity needs no IAM permission, so controls do not list it.
 */
export async function resolveAccount(ctx: LiveContext): Promise<string> {
  if (ctx.account) return ctx.account;
  const region = ctx.regions[0] ?? "us-east-1";
  const identity = await (await ctx.aws.sts(region)).send(new GetCallerIdentityCommand({}));
  if (!identity.Account) throw new AccountUnknownError("GetCallerIdentity returned no Account");
  return identity.Account;
}
