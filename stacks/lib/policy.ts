import { existsSync, readFileSync } from "node:fs";
import { extname, isAbsolute, relative, resolve } from "node:path";
import { defaultPolicy, parsePolicy, type AnyControl, type Policy } from "@hipaa-remediate/core";
import type { FunctionCopyFilesProps } from "sst/constructs";

/** Where the bundled policy lands inside every function package (Lambda's task root). */
const TASK_ROOT = "/var/task";
const DEFAULT_POLICY_NAME = "policy.yaml";

export class PolicyFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PolicyFileError";
  }
}

/**
 * The policy file to deploy: the explicit path when one is given (it must exist), else ./policy.yaml when it
 * exists, else undefined for the built-in default policy.
 */
export function resolvePolicyFile(explicit: string | undefined, root: string): string | undefined {
  if (explicit !== undefined) {
    const path = resolve(root, explicit);
    if (!existsSync(path)) throw new PolicyFileError(`HIPAA_POLICY_FILE: no policy file at ${path}`);
    return path;
  }
  const local = resolve(root, DEFAULT_POLICY_NAME);
  return existsSync(local) ? local : undefined;
}

/** The validated policy and how functions receive it. */
export interface DeployedPolicy {
  policy: Policy;
  /** POLICY_FILE, when a file is deployed; absent means the built-in default. */
  environment: Record<string, string>;
  copyFiles: FunctionCopyFilesProps[];
}

/**
 * Reads and validates the policy at synth time, with the same parser and registry the engine uses, so a policy the
 * engine would reject never deploys: the PolicyError (naming each field at fault) propagates and fails synth.
 */
export function deployedPolicy(policyFile: string | undefined, root: string, controls: readonly AnyControl[]): DeployedPolicy {
  if (policyFile === undefined) {
    return { policy: defaultPolicy(controls), environment: {}, copyFiles: [] };
  }
  const text = readFileSync(policyFile, "utf8");
  const policy = parsePolicy(text, relative(root, policyFile) || policyFile, controls);
  const bundledName = `policy${extname(policyFile) || ".yaml"}`;
  // SST copies `from` relative to the project root, so a file elsewhere is addressed through "..".
  const from = isAbsolute(policyFile) ? relative(root, policyFile) : policyFile;
  return {
    policy,
    environment: { POLICY_FILE: `${TASK_ROOT}/${bundledName}` },
    copyFiles: [{ from, to: bundledName }],
  };
}
