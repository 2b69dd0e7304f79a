import type { WebClient } from "@slack/web-api";

/** Who may decide proposals: Slack user ids (`U...`/`W...`) and user group ids (`S...`), from the policy. */
export interface ApproverPolicy {
  users: readonly string[];
  userGroups: readonly string[];
}

export interface ApproverDirectoryOptions {
  /** Needed to resolve user groups; without it only the listed users are approvers. */
  slack?: WebClient;
  now: () => Date;
  /** How long a group's member list is trusted. Short, so removing someone from a group takes effect quickly. */
  cacheTtlMs?: number;
}

export const DEFAULT_GROUP_CACHE_TTL_MS = 60_000;

export class ApproverLookupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ApproverLookupError";
  }
}

/**
 * Answers "may this Slack user decide proposals?". Direct members are checked first, then each listed user group
 * through `usergroups.users.list`, whose answers are cached briefly to stay under Slack's rate limits when a
 * channel clicks through a backlog.
 */
export class ApproverDirectory {
  private readonly groupMembers = new Map<string, { members: ReadonlySet<string>; fetchedAt: number }>();
  private readonly cacheTtlMs: number;

  constructor(
    private readonly policy: ApproverPolicy,
    private readonly options: ApproverDirectoryOptions,
  ) {
    this.cacheTtlMs = options.cacheTtlMs ?? DEFAULT_GROUP_CACHE_TTL_MS;
  }

  async isApprover(userId: string): Promise<boolean> {
    if (this.policy.users.includes(userId)) return true;
    for (const group of this.policy.userGroups) {
      if ((await this.members(group)).has(userId)) return true;
    }
    return false;
  }

  private async members(group: string): Promise<ReadonlySet<string>> {
    const now = this.options.now().getTime();
    const cached = this.groupMembers.get(group);
    if (cached && now - cached.fetchedAt < this.cacheTtlMs) return cached.members;
    const slack = this.options.slack;
    if (!slack) throw new ApproverLookupError(`cannot resolve Slack user group ${group} without a Slack client`);
    let users: string[];
    try {
      const response = await slack.usergroups.users.list({ usergroup: group });
      users = response.users ?? [];
    } catch (error) {
      throw new ApproverLookupError(`could not list the members of Slack user group ${group}`, { cause: error });
    }
    const members = new Set(users);
    this.groupMembers.set(group, { members, fetchedAt: now });
    return members;
  }
}
