/**
 * `npm run soak:agents -- --minutes 30 [--attacks-per-minute 6] [--kill-every 45] [--outage-every 600]
 * [--outage-seconds 15] [--seed N] [--out bench/results]`: the agents' soak (bench/soak/agents.ts).
 * Prints progress and a summary, writes it to <out>/soak-agents-<minutes>min.{json,md}, and exits
 * 1 on any violation.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { describeSoak, runSoak } from "../bench/soak/agents";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a positive number, not ${JSON.stringify(process.argv[i + 1])}.`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const minutes = option("minutes", 30);
  const outIndex = process.argv.indexOf("--out");
  const out =
    outIndex === -1 ? path.join(__dirname, "..", "bench", "results") : path.resolve(process.argv[outIndex + 1]);
  const dir = mkdtempSync(path.join(tmpdir(), "soak-agents-"));
  try {
    const result = await runSoak({
      minutes,
      attacksPerMinute: option("attacks-per-minute", 6),
      killEverySeconds: option("kill-every", 45),
      outageEverySeconds: option("outage-every", 600),
      outageSeconds: option("outage-seconds", 15),
      seed: option("seed", Date.now() % 2 ** 31),
      dir,
      onProgress: (line) => console.log(`${new Date().toISOString()} ${line}`),
    });
    const summary = describeSoak(result);
    console.log(summary.join("\n"));
    mkdirSync(out, { recursive: true });
    const name = `soak-agents-${minutes}min`;
    writeFileSync(path.join(out, `${name}.json`), JSON.stringify(result, null, 2) + "\n");
    writeFileSync(
      path.join(out, `${name}.md`),
      `# Agents' soak, ${minutes} min\n\n${summary.map((l) => `- ${l}`).join("\n")}\n`,
    );
    process.exitCode = result.violations.length === 0 ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
