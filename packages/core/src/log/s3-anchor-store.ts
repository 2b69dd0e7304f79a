import { ListObjectVersionsCommand, type S3Client } from "@aws-sdk/client-s3";
import { canonicalJson } from "../support/json";
import { anchorSchema, AnchorStoreError, type Anchor, type AnchorStore } from "./anchor";
import { DEFAULT_LOG_CHAIN } from "./dynamodb-schema";
import { paddedSeq, putLockedObject } from "./s3-object-lock";

export interface S3AnchorStoreOptions {
  client: S3Client;
  /** A bucket with Object Lock in compliance mode and a default retention (the stack's audit bucket). */
  bucket: string;
  /** The log the anchors are for; one bucket may anchor several chains. */
  chain?: string;
}

/** Where anchors live in the bucket; the export objects live beside them under exports/. */
export const ANCHOR_PREFIX = "anchors/";

/**
 * Anchors in an S3 bucket with Object Lock in compliance mode: no one, the account's root user included, can
 * delete an object version or shorten its retention until the retention ends.
 *
 * The anchor is its object key, `anchors/<chain>/<seq>-<hash>.json`, and its time is the version's LastModified,
 * which S3 sets: `list` reads every version of every key (ListObjectVersions, never GetObject), so a forged body,
 * a newer version of the same key or a delete marker can neither change nor hide an anchor. Publishing the same
 * head twice adds a version with the same key, which lists as the same anchor published again.
 */
export class S3AnchorStore implements AnchorStore {
  readonly location: string;
  private readonly prefix: string;

  constructor(private readonly options: S3AnchorStoreOptions) {
    this.prefix = `${ANCHOR_PREFIX}${options.chain ?? DEFAULT_LOG_CHAIN}/`;
    this.location = `s3://${options.bucket}/${this.prefix}`;
  }

  async publish(anchor: Anchor): Promise<void> {
    const checked = anchorSchema.parse(anchor);
    await putLockedObject(
      this.options.client,
      this.options.bucket,
      `${this.prefix}${paddedSeq(checked.seq)}-${checked.hash}.json`,
      `${canonicalJson(checked)}\n`,
      "application/json",
    );
  }

  async list(): Promise<Anchor[]> {
    const anchors: Anchor[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.options.client.send(
          new ListObjectVersionsCommand({
            Bucket: this.options.bucket,
            Prefix: this.prefix,
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}),
          }),
        );
      } catch (error) {
        throw new AnchorStoreError(`cannot list the anchors in ${this.location}`, { cause: error });
      }
      for (const version of page.Versions ?? []) anchors.push(this.anchorOf(version.Key ?? "", version.LastModified));
      if (!page.IsTruncated) return anchors;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
  }

  private anchorOf(key: string, lastModified: Date | undefined): Anchor {
    const match = /^(\d{16})-([0-9a-f]{64})\.json$/.exec(key.slice(this.prefix.length));
    if (!key.startsWith(this.prefix) || !match?.[1] || !match[2] || !lastModified) {
      throw new AnchorStoreError(
        `s3://${this.options.bucket}/${key} is not an anchor (expected ${this.prefix}<16-digit seq>-<sha256>.json): ` +
          `only the anchor publisher may write under ${this.prefix}`,
      );
    }
    return { seq: Number(match[1]), hash: match[2], at: lastModified.toISOString() };
  }
}
