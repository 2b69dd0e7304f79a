import { z } from "zod";

/**
 * The shapes AWS accepts where an API takes a KMS key: a key id (a UUID, or `mrk-…` for multi-Region keys), a key
 * ARN, an alias name (`alias/…`) or an alias ARN. Checked when the policy loads, so a typo fails there and not
 * in the middle of a fix.
 */
const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;
const KEY_ARN =
  /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})|alias\/[a-zA-Z0-9/_-]{1,250})$/;

export const KMS_KEY_SHAPES = "a key id (1234abcd-12ab-34cd-56ef-1234567890ab or mrk-…), a key ARN, an alias (alias/name) or an alias ARN";

export function isKmsKeyReference(value: string): boolean {
  return KEY_ID.test(value) || ALIAS_NAME.test(value) || KEY_ARN.test(value);
}

/** A policy option naming a KMS key. */
export function kmsKeyReference() {
  return z
    .string()
    .trim()
    .refine(isKmsKeyReference, { message: `must name a KMS key: ${KMS_KEY_SHAPES}` });
}
