/**
 * The coverage gate of CI: reads the summary that `hardhat coverage` writes
 * (coverage/coverage-summary.json, the istanbul "json-summary" reporter configured in .solcover.js),
 * adds up the production contracts (contracts/, without contracts/mocks/, which .solcover.js skips
 * anyway), prints the figures per file and in total, and exits 1 when statements fall below
 * COVERAGE_MIN_STATEMENTS (default 95) or branches below COVERAGE_MIN_BRANCHES (default 90) percent.
 *
 *   npm run coverage:check          # hardhat coverage, then this check
 *   npx ts-node scripts/check-coverage.ts [summary.json]
 */
import { readFileSync } from "node:fs";
import path from "node:path";

interface Counts {
  total: number;
  covered: number;
}

type Metric = "statements" | "branches" | "functions" | "lines";
const METRICS: readonly Metric[] = ["statements", "branches", "functions", "lines"];

type FileSummary = Record<Metric, Counts>;

function threshold(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 100) throw new Error(`${name} is "${text}", not a percentage.`);
  return value;
}

function percent(c: Counts): number {
  return c.total === 0 ? 100 : (100 * c.covered) / c.total;
}

function main(): void {
  const root = path.join(__dirname, "..");
  const file = process.argv[2] ?? path.join(root, "coverage", "coverage-summary.json");
  let summary: Record<string, FileSummary>;
  try {
    summary = JSON.parse(readFileSync(file, "utf8")) as Record<string, FileSummary>;
  } catch (error) {
    throw new Error(`cannot read the coverage summary ${file} (run "npx hardhat coverage" first): ${String(error)}`);
  }
  const contracts = path.join(root, "contracts") + path.sep;
  const mocks = path.join(contracts, "mocks") + path.sep;
  const totals: Record<Metric, Counts> = {
    statements: { total: 0, covered: 0 },
    branches: { total: 0, covered: 0 },
    functions: { total: 0, covered: 0 },
    lines: { total: 0, covered: 0 },
  };
  const rows: string[] = [];
  for (const [name, counts] of Object.entries(summary)) {
    if (name === "total") continue;
    const absolute = path.resolve(root, name);
    if (!absolute.startsWith(contracts) || absolute.startsWith(mocks)) continue;
    for (const metric of METRICS) {
      totals[metric].total += counts[metric].total;
      totals[metric].covered += counts[metric].covered;
    }
    rows.push(
      `  ${path.relative(root, absolute).padEnd(52)} ${METRICS.map((m) => percent(counts[m]).toFixed(2).padStart(7)).join(" ")}`,
    );
  }
  if (rows.length === 0) throw new Error(`${file} lists no file under contracts/: is it this project's coverage?`);
  console.log(`  ${"file".padEnd(52)} ${METRICS.map((m) => m.slice(0, 7).padStart(7)).join(" ")}`);
  console.log(rows.sort().join("\n"));
  const figures = METRICS.map(
    (m) => `${m} ${percent(totals[m]).toFixed(2)}% (${totals[m].covered}/${totals[m].total})`,
  ).join(", ");
  console.log(`contracts/ without mocks: ${figures}`);

  const minimums: [Metric, number][] = [
    ["statements", threshold("COVERAGE_MIN_STATEMENTS", 95)],
    ["branches", threshold("COVERAGE_MIN_BRANCHES", 90)],
  ];
  const failures = minimums
    .filter(([metric, min]) => percent(totals[metric]) < min)
    .map(([metric, min]) => `${metric} ${percent(totals[metric]).toFixed(2)}% is below ${min}%`);
  if (failures.length > 0) throw new Error(`coverage gate failed: ${failures.join("; ")}.`);
  console.log(
    "coverage gate passed (statements ≥ 95%, branches ≥ 90%)."
      .replace("95", String(minimums[0][1]))
      .replace("90", String(minimums[1][1])),
  );
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
