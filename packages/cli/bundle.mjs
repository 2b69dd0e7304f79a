// Builds the CLI into one ESM file with esbuild. A bundle loads a fraction of the modules a TypeScript loader
// would (tree-shaken AWS SDK clients, no transpiler), which keeps replay's memory flat and its start fast.
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const cliDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(cliDir, "../..");
export const bundlePath = join(cliDir, "dist", "hipaa-remediate.mjs");

/**
 * Node flags the launcher runs the bundle with. Replay streams its input, so a capped old space keeps memory flat;
 * V8 would otherwise let the heap grow far past what the work needs. A young generation twice V8's smallest lets
 * most of a log file's records (parsed whole, see events/whole-log-file.ts) die young instead of being promoted
 * and compacted; a larger one buys little more speed for its memory.
 */
export function cliNodeFlags(env = process.env) {
  return ["--max-semi-space-size=8", `--max-old-space-size=${env.HIPAA_REMEDIATE_MAX_OLD_SPACE_MB ?? "160"}`];
}

/** Everything the bundle is built from: the workspace packages' sources and the controls. */
const SOURCE_DIRS = ["packages/core/src", "packages/cli/src", "remediations"].map((dir) => join(repoRoot, dir));

function newestSourceMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export function bundleIsStale() {
  let built;
  try {
    built = statSync(bundlePath).mtimeMs;
  } catch {
    return true;
  }
  return SOURCE_DIRS.some((dir) => newestSourceMtime(dir) > built);
}

export async function buildCliBundle() {
  const { build } = await import("esbuild");
  mkdirSync(dirname(bundlePath), { recursive: true });
  // Write aside and rename: concurrent builders (parallel test workers) never see a half-written bundle.
  const temporary = `${bundlePath}.${randomUUID()}.tmp`;
  await build({
    entryPoints: [join(cliDir, "src/entry.ts")],
    outfile: temporary,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // ESM builds first, as the Lambda bundles do: the AWS SDK's are smaller than its CommonJS builds, whose every
    // export is copied at start-up. Start-up is paid by every command; for replay it is most of a small run.
    mainFields: ["module", "main"],
    // Native addon, and an SST helper only the Lambda functions load.
    external: ["better-sqlite3", "sst"],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: "warning",
    legalComments: "none",
  });
  renameSync(temporary, bundlePath);
  return bundlePath;
}

export async function ensureCliBundle() {
  if (bundleIsStale()) await buildCliBundle();
  return bundlePath;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildCliBundle();
  console.error(`built ${bundlePath}`);
}
