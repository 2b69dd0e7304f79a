import { CATEGORIES, type ResourceRef } from "@hipaa-remediate/core";
import { z } from "zod";
import { defineSettingControl } from "./lib/setting-control";
import {
  EC2_SOURCE,
  RDS_SOURCE,
  ownedSnapshots,
  readSnapshotSharing,
  setSnapshotPublic,
  sharingFromEvent,
  snapshotKindOf,
  snapshotRefsFromEvent,
  type SnapshotSharing,
} from "./lib/snapshots";

const sharingSchema = z.object({ public: z.boolean(), accounts: z.array(z.string().min(1)) });

function describeSharing(sharing: SnapshotSharing): string {
  const named = sharing.accounts.length > 0 ? `shared with ${sharing.accounts.join(", ")}` : "";
  if (sharing.public) return named ? `public and ${named}` : "public";
  return named ? `private, ${named}` : "private";
}

function what(ref: ResourceRef): string {
  return `${snapshotKindOf(ref).noun} ${ref.id}`;
}

/**
 * EBS snapshots, RDS DB snapshots and RDS DB cluster snapshots that any AWS account can restore. A public
 * snapshot is a full copy of the disk or database, ePHI included, that anyone can copy into their own account.
 */
export const control = defineSettingControl({
  id: "snapshot-public",
  title: "EBS and RDS snapshots are never public",
  category: "public-exposure",
  hipaa: {
    sections: [...CATEGORIES["public-exposure"].hipaa],
    why: "Anyone can restore a public snapshot into their own account and read every record on it, an uncontrolled disclosure of ePHI that 164.312(a)(1) and 164.312(e)(1) forbid.",
  },
  severity: "critical",
  options: z.strictObject({}).prefault({}),
  triggers: [
    { source: EC2_SOURCE, name: "ModifySnapshotAttribute", resources: snapshotRefsFromEvent },
    { source: RDS_SOURCE, name: "ModifyDBSnapshotAttribute", resources: snapshotRefsFromEvent },
    { source: RDS_SOURCE, name: "ModifyDBClusterSnapshotAttribute", resources: snapshotRefsFromEvent },
  ],
  permissions: {
    detect: [
      "ec2:DescribeSnapshots",
      "ec2:DescribeSnapshotAttribute",
      "rds:DescribeDBSnapshots",
      "rds:DescribeDBSnapshotAttributes",
      "rds:DescribeDBClusterSnapshots",
      "rds:DescribeDBClusterSnapshotAttributes",
    ],
    apply: [
      "ec2:DescribeSnapshotAttribute",
      "ec2:ModifySnapshotAttribute",
      "rds:DescribeDBSnapshotAttributes",
      "rds:ModifyDBSnapshotAttribute",
      "rds:DescribeDBClusterSnapshotAttributes",
      "rds:ModifyDBClusterSnapshotAttribute",
    ],
    rollback: ["ec2:ModifySnapshotAttribute", "rds:ModifyDBSnapshotAttribute", "rds:ModifyDBClusterSnapshotAttribute"],
  },
  kind: ownedSnapshots,
  setting: sharingSchema,

  read: (ref, ctx) => readSnapshotSharing(ref, ctx),
  // Only public access is removed: accounts the snapshot is shared with by name keep it.
  write: (ref, sharing, ctx) => setSnapshotPublic(ref, sharing.public, ctx),
  async restore(ref, before, ctx) {
    if (before.public) await setSnapshotPublic(ref, true, ctx);
  },
  shortfall: (sharing) => (sharing.public ? "is public: any AWS account can copy or restore it" : undefined),
  required: (sharing) => ({ public: false, accounts: sharing.accounts }),
  describe: describeSharing,
  summarise: (ref, required) =>
    `Make ${what(ref)} private: remove the public ("all") permission${
      required.accounts.length > 0 ? ` and keep it shared with ${required.accounts.join(", ")}` : ""
    }.`,
  notes: (ref, required) => [
    `Who loses what: every AWS account not named on ${what(ref)} loses the ability to copy or restore it${
      required.accounts.length > 0 ? `; ${required.accounts.join(", ")} keep access` : ""
    }. The snapshot itself is not changed.`,
    "Rollback adds the public permission back.",
  ],
  fromEvent: (event) => sharingFromEvent(event),
});
