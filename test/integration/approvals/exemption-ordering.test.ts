import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DynamoDbExemptionStore,
  DynamoDbProposalStore,
  processAction,
  type ApprovalDeps,
  type ExemptionStore,
  type LogStore,
  type Proposal,
  type ProposalStore,
  type VerifiedAction,
} from "@hipaa-remediate/core";
import { collect } from "../../support/log-drafts";
import { MOTO_REGION, useMoto } from "../../support/moto";
import { useSlackRecorder } from "../../support/slack-recorder";
import {
  APPROVER,
  createExemptionsTable,
  createProposalsTable,
  createUnencryptedBucket,
  localApprovals,
  sampleProposal,
  type LocalApprovals,
} from "./fixtures";
import { interceptLogWrites } from "../../support/intercept-log-writes";
import { overrideMethods } from "../../support/override-methods";

const moto = useMoto();
const slackRecorder = useSlackRecorder();
const s3 = await moto.clients.s3(MOTO_REGION);
const REASON = "Vendor migration in progress; bucket holds no PHI until April";

/** A crash between two writes, as a thrown error where the process would have died. */
class InjectedCrash extends Error {
  constructor(where: string) {
    super(`injected crash ${where}`);
    this.name = "InjectedCrash";
  }
}

/** The proposal store, failing once on the move to `exempted`: the crash right after the exemption is stored. */
function crashBeforeStatus(proposals: ProposalStore): ProposalStore {
  let crashed = false;
  return overrideMethods(proposals, {
    async transition(...args: Parameters<ProposalStore["transition"]>) {
      if (args[2] === "exempted" && !crashed) {
        crashed = true;
        throw new InjectedCrash("between storing the exemption and moving the status");
      }
      return proposals.transition(...args);
    },
  });
}

/** The log, failing once on the `exempted` entry: the crash right after the status moved. */
function crashBeforeLogEntry(log: LogStore): LogStore {
  let crashed = false;
  return interceptLogWrites(log, {
    before(draft) {
      if (draft.stage === "exempted" && !crashed) {
        crashed = true;
        throw new InjectedCrash("between moving the status and logging the exemption");
      }
    },
  });
}

interface Stores {
  proposals: ProposalStore;
  exemptions: ExemptionStore;
}

let tableCounter = 0;
const storeKinds: Array<[string, (env: LocalApprovals) => Promise<Stores>]> = [
  ["SQLite stores", async (env) => ({ proposals: env.proposals, exemptions: env.exemptions })],
  [
    "DynamoDB stores (moto)",
    async () => {
      const client = new DynamoDBClient(moto.config);
      const suffix = ++tableCounter;
      await createProposalsTable(client, `proposals-ordering-${suffix}`);
      await createExemptionsTable(client, `exemptions-ordering-${suffix}`);
      return {
        proposals: new DynamoDbProposalStore(client, `proposals-ordering-${suffix}`),
        exemptions: new DynamoDbExemptionStore(client, `exemptions-ordering-${suffix}`),
      };
    },
  ],
];

describe.each(storeKinds)("an exemption granted from Slack, on %s", (_kind, makeStores) => {
  let env: LocalApprovals;
  let stores: Stores;
  let bucketCounter = 0;

  beforeEach(async () => {
    env = localApprovals(moto, slackRecorder());
    stores = await makeStores(env);
  });
  afterEach(() => env.cleanup());

  async function pendingProposal(): Promise<Proposal> {
    const bucket = `phi-exempt-order-${tableCounter}-${++bucketCounter}`;
    await createUnencryptedBucket(s3, bucket);
    const proposal = sampleProposal(bucket, env.clock.now);
    await stores.proposals.create(proposal);
    return proposal;
  }

  function exemptAction(proposal: Proposal): VerifiedAction {
    return { kind: "exempt", via: "slack", proposalId: proposal.id, planHash: proposal.planHash, user: APPROVER, reason: REASON };
  }

  function deps(overrides: Partial<ApprovalDeps> = {}): ApprovalDeps {
    return { ...env.deps, ...stores, ...overrides };
  }

  async function exemptedEntries(proposalId: string) {
    return (await collect(env.log.read())).filter((entry) => entry.proposalId === proposalId && entry.stage === "exempted");
  }

  it("is stored before the status moves, so a crash between the two loses nothing, and the redelivery finishes once", async () => {
    const proposal = await pendingProposal();
    await expect(processAction(exemptAction(proposal), deps({ proposals: crashBeforeStatus(stores.proposals) }))).rejects.toThrow(
      InjectedCrash,
    );
    // The exemption is already in force, although the proposal still waits.
    const [granted] = await stores.exemptions.list();
    expect(granted).toMatchObject({ resource: proposal.finding.resource.arn, controls: [proposal.control], reason: REASON });
    expect((await stores.proposals.get(proposal.id))?.status).toBe("pending");

    // SQS redelivers an hour later: the same exemption, not a second one with a later expiry.
    env.clock.now = new Date(env.clock.now.getTime() + 3_600_000);
    expect(await processAction(exemptAction(proposal), deps())).toBe("exempted");
    expect(await stores.exemptions.list()).toEqual([granted]);
    expect((await stores.proposals.get(proposal.id))?.status).toBe("exempted");
    expect(await exemptedEntries(proposal.id)).toEqual([
      expect.objectContaining({ reason: REASON, details: expect.objectContaining({ expires: granted?.expires }) }),
    ]);
  });

  it("a redelivery after the status moved finishes the log instead of failing as already decided", async () => {
    const proposal = await pendingProposal();
    await expect(processAction(exemptAction(proposal), deps({ log: crashBeforeLogEntry(env.log) }))).rejects.toThrow(InjectedCrash);
    expect((await stores.proposals.get(proposal.id))?.status).toBe("exempted");
    expect(await exemptedEntries(proposal.id)).toEqual([]);

    expect(await processAction(exemptAction(proposal), deps())).toBe("exempted");
    expect(await stores.exemptions.list()).toHaveLength(1);
    expect(await exemptedEntries(proposal.id)).toHaveLength(1);
  });

  it("a duplicate delivery after a complete exemption stores and logs nothing more", async () => {
    const proposal = await pendingProposal();
    expect(await processAction(exemptAction(proposal), deps())).toBe("exempted");
    expect(await processAction(exemptAction(proposal), deps())).toBe("exempted");
    expect(await stores.exemptions.list()).toHaveLength(1);
    expect(await exemptedEntries(proposal.id)).toHaveLength(1);
  });

  it("another approver's later exemption of a decided proposal is refused as already decided", async () => {
    const proposal = await pendingProposal();
    expect(await processAction(exemptAction(proposal), deps())).toBe("exempted");
    const late = { ...exemptAction(proposal), user: { id: "U0SECOND", name: "sam" } };
    expect(await processAction(late, deps())).toBe("already-decided");
    expect(await stores.exemptions.list()).toHaveLength(1);
  });
});
