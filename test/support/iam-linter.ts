import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { ensureMotoInstalled, MotoSetupError, venvDir } from "./moto-server";

/** Pinned IAM policy linter; its AWS IAM definitions (access levels, resource types, condition keys) feed iam_lint.py. */
export const PARLIAMENT_REQUIREMENT = "parliament==1.6.4";

const venvPython = join(venvDir, "bin", "python");
const LINT_SCRIPT = resolve(import.meta.dirname, "../infra/iam_lint.py");

function installedParliamentVersion(): string | undefined {
  const result = spawnSync(venvPython, ["-c", "import importlib.metadata as m; print(m.version('parliament'))"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Installs the pinned parliament into the project's virtual environment (created with moto) when missing or stale. */
export function ensureParliamentInstalled(): void {
  const wanted = PARLIAMENT_REQUIREMENT.split("==")[1];
  if (installedParliamentVersion() === wanted) return;
  ensureMotoInstalled();
  const result = spawnSync(venvPython, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", PARLIAMENT_REQUIREMENT], {
    encoding: "utf8",
  });
  if (result.status !== 0 || installedParliamentVersion() !== wanted) {
    throw new MotoSetupError(`could not install ${PARLIAMENT_REQUIREMENT} into ${venvDir}:\n${result.stderr || result.stdout}`, {
      cause: result.error,
    });
  }
}

export interface IamLintFinding {
  where: string;
  action: string;
  issue: "PERMISSIONS_MANAGEMENT_ON_STAR" | "UNKNOWN_ACTION";
}

/** Runs iam_lint.py over synthesised templates (name -> template JSON). */
export function lintTemplates(templates: Record<string, unknown>): IamLintFinding[] {
  ensureParliamentInstalled();
  const result = spawnSync(venvPython, [LINT_SCRIPT], {
    input: JSON.stringify({ templates }),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`iam_lint.py failed (exit ${result.status}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as IamLintFinding[];
}
