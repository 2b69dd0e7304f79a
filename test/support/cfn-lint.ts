import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { MotoSetupError, venvDir } from "./moto-server";

/** Pinned like moto, in the same project-local virtual environment. */
export const CFN_LINT_REQUIREMENT = "cfn-lint==1.58.0";

export const cfnLintBin = join(venvDir, "bin", "cfn-lint");

function installedCfnLintVersion(): string | undefined {
  if (!existsSync(cfnLintBin)) return undefined;
  const result = spawnSync(cfnLintBin, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? /(\d+\.\d+\.\d+)/.exec(result.stdout)?.[1] : undefined;
}

/** Installs the pinned cfn-lint into .venv (which ensureMotoInstalled creates) when it is missing or stale. */
export function ensureCfnLintInstalled(): void {
  const wanted = CFN_LINT_REQUIREMENT.split("==")[1];
  if (installedCfnLintVersion() === wanted) return;
  const python = join(venvDir, "bin", "python");
  const result = spawnSync(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", CFN_LINT_REQUIREMENT], {
    encoding: "utf8",
  });
  if (result.status !== 0)
    throw new MotoSetupError(`pip install ${CFN_LINT_REQUIREMENT} failed (exit ${result.status}):\n${result.stderr}`);
  const installed = installedCfnLintVersion();
  if (installed !== wanted) throw new MotoSetupError(`expected cfn-lint ${wanted} in ${venvDir}, found ${installed ?? "nothing"}`);
}

/** One finding of `cfn-lint --format json`. */
export interface CfnLintMatch {
  Rule: { Id: string; Description: string };
  Level: "Error" | "Warning" | "Informational";
  Message: string;
  Filename: string;
  Location: { Path?: (string | number)[] };
}

/** Lints templates for one region; cfn-lint exits non-zero when it finds anything, so its JSON is the result. */
export function cfnLint(templateFiles: readonly string[], region: string): CfnLintMatch[] {
  const result = spawnSync(cfnLintBin, ["--format", "json", "--regions", region, "--", ...templateFiles], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error !== undefined) throw result.error;
  try {
    return JSON.parse(result.stdout || "[]") as CfnLintMatch[];
  } catch (cause) {
    throw new Error(`cfn-lint printed no JSON (exit ${result.status}): ${result.stderr || result.stdout}`, { cause });
  }
}
