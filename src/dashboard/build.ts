/**
 * Builds the web app (dashboard/) with Vite's JavaScript API, only when a source is newer than the
 * last build: the app, the library code it imports from src/, and the TypeChain types.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
/** The Vite root of the web app. */
export const APP_ROOT = path.join(ROOT, "dashboard");
/** Where the built app goes (git-ignored). */
export const APP_DIST = path.join(APP_ROOT, "dist");
const SOURCES = [APP_ROOT, path.join(ROOT, "src"), path.join(ROOT, "typechain-types")];

/** The newest modification time under `dir`, leaving out `skip`. */
function newest(dir: string, skip: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (full === skip || entry.name === "node_modules") continue;
    latest = Math.max(latest, entry.isDirectory() ? newest(full, skip) : statSync(full).mtimeMs);
  }
  return latest;
}

/** True when `outDir` holds a build newer than every source. */
export function isBuildCurrent(outDir = APP_DIST): boolean {
  const index = path.join(outDir, "index.html");
  if (!existsSync(index)) return false;
  const built = statSync(index).mtimeMs;
  return SOURCES.every((dir) => !existsSync(dir) || newest(dir, outDir) <= built);
}

export interface BuildResult {
  outDir: string;
  /** False when the last build was still current. */
  built: boolean;
  ms: number;
}

export async function buildDashboard(options: { force?: boolean; outDir?: string } = {}): Promise<BuildResult> {
  const outDir = options.outDir ?? APP_DIST;
  const started = Date.now();
  if (!options.force && isBuildCurrent(outDir)) return { outDir, built: false, ms: Date.now() - started };
  // Loaded only when building (most starts find the build current). Vite is an ES module whose
  // types need "bundler" resolution; the web app's tsconfig checks its configuration file.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { build } = require("vite") as { build: (config: Record<string, unknown>) => Promise<unknown> };
  await build({
    root: APP_ROOT,
    configFile: path.join(APP_ROOT, "vite.config.mts"),
    build: { outDir, emptyOutDir: true },
  });
  return { outDir, built: true, ms: Date.now() - started };
}
