import { createHash } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

/**
 * Writes one object to an Object Lock bucket. The retention comes from the bucket's default (compliance mode, the
 * period the policy sets), so the writer needs s3:PutObject and nothing else: sending retention headers would also
 * need s3:PutObjectRetention. S3 insists on an integrity checksum for uploads to a bucket with Object Lock, hence
 * Content-MD5.
 */
export async function putLockedObject(client: S3Client, bucket: string, key: string, body: string, contentType: string): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
      ContentMD5: createHash("md5").update(body, "utf8").digest("base64"),
    }),
  );
}

/** Sequence numbers padded so that S3's lexicographic key order is seq order. */
export function paddedSeq(seq: number): string {
  return String(seq).padStart(16, "0");
}
