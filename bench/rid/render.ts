/**
 * Re-renders bench/results/rid-<network>.md and .svg from its JSON (after a change to the report's
 * layout): `node --require ts-node/register/transpile-only bench/rid/render.ts anvil` (or `hardhat`).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { chart, markdown, readResult } from "./report";
import { writeResults } from "../lib/results";

async function main(): Promise<void> {
  const network = process.argv[2] ?? "anvil";
  const base = path.join(__dirname, "..", "results", `rid-${network}`);
  // Older results (figures in milliseconds) are read too, and rewritten in the current shape.
  const result = readResult(await readFile(`${base}.json`, "utf8"));
  await writeResults(base, result, markdown(result), chart(result));
  console.log(markdown(result));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
