import { readdirSync } from "node:fs";
import { join } from "node:path";
import { build, type Metafile } from "esbuild";
import { NODE_BUNDLING } from "../../stacks/lib/functions";

const ROOT = join(import.meta.dirname, "..", "..");
const FUNCTIONS_DIR = join(ROOT, "packages", "functions", "src");

/** SST's banner for ESM Node functions: CommonJS dependencies still find `require`. */
const SST_ESM_BANNER =
  "import { createRequire as topLevelCreateRequire } from 'module';const require = topLevelCreateRequire(import.meta.url);";

export interface FunctionBundle {
  /** The handler file's name without extension, e.g. `engine`. */
  name: string;
  file: string;
  bytes: number;
  metafile: Metafile;
}

/** Every Lambda handler module: the top-level files of packages/functions/src (wiring/ holds shared code). */
export function functionHandlerNames(): string[] {
  return readdirSync(FUNCTIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => entry.name.replace(/\.ts$/, ""))
    .sort();
}

/**
 * Bundles one handler the way `sst deploy` does: SST's esbuild settings for Node functions (ESM, everything
 * bundled, main fields module then main, names kept) plus the project's NODE_BUNDLING (minify, target).
 */
export async function bundleFunction(name: string, outdir: string): Promise<FunctionBundle> {
  const file = join(outdir, `${name}.mjs`);
  const result = await build({
    entryPoints: [join(FUNCTIONS_DIR, `${name}.ts`)],
    outfile: file,
    bundle: true,
    platform: "node",
    format: NODE_BUNDLING.format,
    target: NODE_BUNDLING.esbuild.target,
    minify: NODE_BUNDLING.minify,
    sourcemap: NODE_BUNDLING.sourcemap,
    keepNames: true,
    mainFields: ["module", "main"],
    banner: { js: SST_ESM_BANNER },
    metafile: true,
    logLevel: "error",
  });
  const [output] = Object.values(result.metafile.outputs);
  return { name, file, bytes: output?.bytes ?? 0, metafile: result.metafile };
}
