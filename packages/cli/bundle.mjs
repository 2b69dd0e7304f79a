// Builds the CLI with esbuild: an ESM entry file plus the chunks it imports. A bundle loads a fraction of the
// modules a TypeScript loader would (tree-shaken AWS SDK clients, no transpiler), which keeps replay's memory flat
// and its start fast; what only some commands need (an SDK client class, used live only) is a chunk loaded on use.
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const cliDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(cliDir, "../..");
const distDir = join(cliDir, "dist");
export const bundlePath = join(distDir, "hipaa-remediate.mjs");
const CHUNKS = "chunks";
/** Chunks a newer build no longer uses are removed once this old: a run started from an older entry may still load them. */
const STALE_CHUNK_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Node flags the launcher runs the bundle with. Replay streams its input, so a capped old space keeps memory flat;
 * V8 would otherwise let the heap grow far past what the work needs. An 8 MiB semi-space holds a good part of a log
 * file's records (parsed whole, see events/whole-log-file.ts) while they are replayed, so many die young instead of
 * being promoted. Under a small cap V8 also schedules the next full collection barely above what survived the last
 * one, which every file's text and promoted records reach: on the realistic bench set that was 60 full collections,
 * a third of replay's CPU time. Letting the old generation grow by 60% between them (still under the cap) made it
 * about 20. A 16 MiB semi-space was a few per cent faster, but its peak RSS on the realistic set wandered from 181
 * to 203 MiB from run to run, across the 200 MB the issue allows; at 8 MiB it stayed at 169-176 MiB.
 */
export function cliNodeFlags(env = process.env) {
  return ["--max-semi-space-size=8", "--heap-growing-percent=60", `--max-old-space-size=${env.HIPAA_REMEDIATE_MAX_OLD_SPACE_MB ?? "160"}`];
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

/**
 * core's AwsClients imports each service's SDK on first use, `new (await import("@aws-sdk/client-ec2")).EC2Client(...)`.
 * A dynamic import keeps every export of what it imports, so the whole package (its aggregated client, every
 * command, waiter and paginator) would be bundled, and the parts the controls import statically would load at
 * start with it. Here that import reaches the client class's own module only, in a chunk loaded on first use.
 */
const clientClassOnly = {
  name: "aws-sdk-client-class-only",
  setup(build) {
    const clientsModule = join(repoRoot, "packages/core/src/aws/clients.ts");
    const requireFromCore = createRequire(clientsModule);
    build.onResolve({ filter: /^@aws-sdk\/client-[a-z0-9-]+$/ }, (args) => {
      if (args.kind !== "dynamic-import" || args.importer !== clientsModule) return undefined;
      const packageDir = dirname(requireFromCore.resolve(`${args.path}/package.json`));
      const classFile = readdirSync(join(packageDir, "dist-es")).find((name) => /^[A-Z]\w*Client\.js$/.test(name));
      if (!classFile) return { errors: [{ text: `${args.path}: no client class module in dist-es` }] };
      // Anything else read from that import would be undefined at run time: fail the build instead.
      const source = readFileSync(clientsModule, "utf8");
      const className = basename(classFile, ".js");
      const uses = [...source.matchAll(/\(await import\("([^"]+)"\)\)\.(\w+)/g)].filter((use) => use[1] === args.path);
      if (uses.length === 0 || uses.some((use) => use[2] !== className)) {
        return {
          errors: [
            {
              text: `${args.path} is imported in ${clientsModule} for more than its ${className}: update ${fileURLToPath(import.meta.url)}`,
            },
          ],
        };
      }
      return { path: join(packageDir, "dist-es", classFile) };
    });
  },
};

/** Writes `contents` to `path` through a temporary file and a rename: a concurrent reader never sees half a file. */
function writeWhole(path, contents) {
  const temporary = `${path}.${randomUUID()}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

function pruneStaleChunks(current) {
  const dir = join(distDir, CHUNKS);
  const cutoff = Date.now() - STALE_CHUNK_AGE_MS;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      if (!current.has(path) && statSync(path).mtimeMs < cutoff) unlinkSync(path);
    } catch {
      // Removed by a concurrent build.
    }
  }
}

export async function buildCliBundle() {
  const { build } = await import("esbuild");
  mkdirSync(join(distDir, CHUNKS), { recursive: true });
  const result = await build({
    entryPoints: { [basename(bundlePath, ".mjs")]: join(cliDir, "src/entry.ts") },
    outdir: distDir,
    // Chunk names hash their contents, so concurrent builders (parallel test workers) write identical files.
    splitting: true,
    chunkNames: `${CHUNKS}/[name]-[hash]`,
    outExtension: { ".js": ".mjs" },
    write: false,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // ESM builds first, as the Lambda bundles do: the AWS SDK's are smaller than its CommonJS builds, whose every
    // export is copied at start-up. Start-up is paid by every command; for replay it is most of a small run.
    mainFields: ["module", "main"],
    // Native addon, and an SST helper only the Lambda functions load.
    external: ["better-sqlite3", "sst"],
    plugins: [clientClassOnly],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: "warning",
    legalComments: "none",
  });
  // Chunks first, the entry last: an entry on disk always finds the chunks it imports.
  const entry = result.outputFiles.find((file) => file.path === bundlePath);
  if (!entry) throw new Error(`esbuild wrote no ${bundlePath}`);
  const chunks = result.outputFiles.filter((file) => file !== entry);
  for (const chunk of chunks) if (!existsSync(chunk.path)) writeWhole(chunk.path, chunk.contents);
  writeWhole(bundlePath, entry.contents);
  pruneStaleChunks(new Set(chunks.map((chunk) => chunk.path)));
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
