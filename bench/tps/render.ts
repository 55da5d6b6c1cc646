/**
 * Re-renders bench/results/tps-<name>.md and .svg from its JSON (after a change to the report's
 * layout or diagnosis): `node --require ts-node/register/transpile-only bench/tps/render.ts anvil`
 * (or `anvil-single80`, or an orders run: `anvil-orders`).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { chart, diagnose, markdown, readResult, targets } from "./report";
import { ordersChart, ordersMarkdown, type OrdersBenchResult } from "./orders/report";
import { writeResults } from "../lib/results";

async function main(): Promise<void> {
  const node = process.argv[2] ?? "anvil";
  const base = path.join(__dirname, "..", "results", `tps-${node}`);
  const text = await readFile(`${base}.json`, "utf8");
  if ((JSON.parse(text) as { mode?: string }).mode === "orders") {
    const orders = JSON.parse(text) as OrdersBenchResult;
    await writeResults(base, orders, ordersMarkdown(orders), ordersChart(orders));
    console.log(ordersMarkdown(orders));
    return;
  }
  // Older results (latency in milliseconds) are read too, and rewritten in the current shape.
  const result = readResult(text);
  const { mitigation, erc20 } = result;
  // Figures derived from others, recomputed: the offered rate is the planned one.
  const slots = Number(result.config.warmup) + Number(result.config.duration);
  mitigation.profile.offeredPerSecond = mitigation.sent / slots;
  erc20.profile.offeredPerSecond = erc20.sent / slots;
  result.targets = targets(mitigation, result.ratio);
  result.diagnosis = [
    ...diagnose(mitigation, result.machine.cores).map((line) => `mitigation: ${line}`),
    ...diagnose(erc20, result.machine.cores).map((line) => `ERC-20: ${line}`),
  ];
  await writeResults(base, result, markdown(result), chart(result));
  console.log(markdown(result));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
